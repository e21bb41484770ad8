/**
 * The records in n8n's database are a contract with every execution already running: an execution
 * begun by 0.2.0 and run again by this version sends nothing 0.2.0 sent. The rows below are written
 * by hand in 0.2.0's format (n8n's processed_data, mode "entries", md5 hashes in base64, one row per
 * workflow and node), not by the code under test, so a change of format fails here.
 */
import { createHash } from 'node:crypto';

import { processedData } from '../harness/engine';
import { FAST, jsonOf, useSimulator } from '../helpers';

const api = useSimulator();

beforeAll(() => api.sim.addRecipe('upgradeRcp1', { durationMs: 200 }));
beforeEach(() => api.sim.clearLog());

/** How n8n stores an entry: the md5 of the value, base64. */
const hashed = (value: string) => createHash('md5').update(value).digest('base64');
/** 0.2.0's row for the action node (id "action-node") of `workflowId`. */
const write020Row = (workflowId: string, values: string[]) =>
	processedData.rows.set(`${workflowId}|n:action-node`, {
		mode: 'entries',
		data: values.map(hashed),
	});

test('Recipe → Run: the claims 0.2.0 wrote (<execution>:<run>:recipe.run:<item>) stop every run it started', async () => {
	write020Row('wf-upgrade-run', ['exec-020-a:0:recipe.run:0', 'exec-020-a:0:recipe.run:2']);
	const { outputs } = await api.run(
		{ resource: 'recipe', operation: 'run', recipeId: 'upgradeRcp1', options: FAST },
		[{}, {}, {}],
		{ workflowId: 'wf-upgrade-run', executionId: 'exec-020-a', onError: 'continueErrorOutput' },
	);
	// Items 0 and 2 were sent by 0.2.0; item 1 was not, and is sent now.
	expect(api.sim.requests('dispatch')).toHaveLength(1);
	// Its run's rows (3), all from item 1.
	expect(outputs[0].map((item) => item.pairedItem)).toEqual([
		{ item: 1 },
		{ item: 1 },
		{ item: 1 },
	]);
	expect(jsonOf(outputs[1]).map((json) => json.error)).toEqual(
		[0, 2].map(
			(item) =>
				`The run of recipe "upgradeRcp1" for this item was already started by an earlier attempt of this execution, so it was not started again [item ${item}]`,
		),
	);
});

test("Page → Scrape of 40 (folded): 0.2.0's start entries, watermark w:32 and claims 32-35 stop items 0-35; 36-39 are sent", async () => {
	const prefix = 'exec-020-b:0:/scrape';
	write020Row('wf-upgrade-scrape', [
		`${prefix}:start:a`,
		`${prefix}:start:b`,
		`${prefix}:w:32`,
		...[32, 33, 34, 35].map((item) => `${prefix}:${item}`),
	]);
	const pages = Array.from({ length: 40 }, (_, index) => ({
		url: `https://shop.example/u${index}`,
	}));
	const { outputs } = await api.run(
		{ resource: 'page', operation: 'scrape', url: '={{ $json.url }}' },
		pages,
		{ workflowId: 'wf-upgrade-scrape', executionId: 'exec-020-b', onError: 'continueErrorOutput' },
	);
	expect(
		api.sim.requests('scrape').map((entry) => (entry.body as { website_url: string }).website_url),
	).toEqual([36, 37, 38, 39].map((index) => `https://shop.example/u${index}`));
	expect(outputs[0]).toHaveLength(4);
	expect(outputs[1]).toHaveLength(36);
});
