import { processedData } from '../harness/engine';
import { FAST, expectNoSecret, jsonOf, pairedOf, useSimulator } from '../helpers';

/**
 * n8n's queue mode runs a job again, under the same execution ID, when the worker running it dies
 * (n8n 1.x). Each billed call is recorded in n8n's processed_data table (through n8n-core's real
 * DataDeduplicationService) before it is sent, so the second attempt never sends it again.
 * Here a second attempt is the same execution ID run again through the engine.
 */
const api = useSimulator();

beforeAll(() => {
	api.sim.addRecipe('onceRecipe1', { pages: 1, itemsPerPage: 2, durationMs: 300 });
	api.sim.addRecipe('onceSlow001', { pages: 1, itemsPerPage: 2, durationMs: 30_000 });
});

const run = (recipeId: string) => ({
	resource: 'recipe',
	operation: 'run',
	recipeId,
	options: FAST,
});
const scrape = { resource: 'page', operation: 'scrape', url: '={{ $json.url }}' };
const three = [{}, {}, {}];

const ALREADY_STARTED =
	/^The run of recipe "onceRecipe1" for this item was already started by an earlier attempt of this execution, so it was not started again \[item \d\]$/;

test('a second attempt of the same execution starts no run again: each item says so and where its rows arrive', async () => {
	api.sim.clearLog();
	const first = await api.run(run('onceRecipe1'), three, { executionId: 'exec-once-1' });
	expect(first.error).toBeUndefined();
	expect(first.outputs[0]).toHaveLength(6);
	expect(api.sim.requests('dispatch')).toHaveLength(3);

	const again = await api.run(run('onceRecipe1'), three, {
		executionId: 'exec-once-1',
		onError: 'continueErrorOutput',
	});
	expect(api.sim.requests('dispatch')).toHaveLength(3);
	const [rows, errors] = again.outputs;
	expect(rows).toHaveLength(0);
	expect(pairedOf(errors)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
	for (const item of errors) {
		expect(item.json.error).toMatch(ALREADY_STARTED);
		expect(item.error?.description).toContain('was not started a second time and is billed once');
		expect(item.error?.description).toContain('WebScrape AI Trigger');
		expect(item.error?.description).toContain('Run → Get');
	}

	// Without an error output the execution fails with item 0's message.
	const failing = await api.run(run('onceRecipe1'), three, { executionId: 'exec-once-1' });
	expect(failing.error?.message).toMatch(ALREADY_STARTED);
	expect(api.sim.requests('dispatch')).toHaveLength(3);
	expectNoSecret(api.seen);
});

test('a worker that dies while the node waits: the re-run ends at once with the message, no second run', async () => {
	api.sim.clearLog();
	// The first attempt dispatches, then stops mid-wait (its process ends: here, a cancel).
	const dying = await api.run(run('onceSlow001'), [{}], {
		executionId: 'exec-once-2',
		cancelAfterMs: 800,
	});
	expect(dying.status).toBe('canceled');
	expect(api.sim.requests('dispatch')).toHaveLength(1);

	const started = Date.now();
	const rerun = await api.run(run('onceSlow001'), [{}], { executionId: 'exec-once-2' });
	expect(Date.now() - started).toBeLessThan(1000);
	expect(rerun.error?.message).toBe(
		'The run of recipe "onceSlow001" for this item was already started by an earlier attempt of this execution, so it was not started again [item 0]',
	);
	expect(api.sim.requests('dispatch')).toHaveLength(1);
});

test('other executions of the same workflow and node still dispatch (the record is per execution)', async () => {
	api.sim.clearLog();
	const a = await api.run(run('onceRecipe1'), [{}, {}], { executionId: 'exec-once-3a' });
	const b = await api.run(run('onceRecipe1'), [{}, {}], { executionId: 'exec-once-3b' });
	expect(a.outputs[0]).toHaveLength(4);
	expect(b.outputs[0]).toHaveLength(4);
	expect(api.sim.requests('dispatch')).toHaveLength(4);
});

test('Page → Scrape: a second attempt sends no page again (each was billed once)', async () => {
	api.sim.clearLog();
	const pages = [{ url: 'https://example.com/a' }, { url: 'https://example.com/b' }];
	const first = await api.run(scrape, pages, { executionId: 'exec-once-4' });
	expect(first.outputs[0]).toHaveLength(2);
	const again = await api.run(scrape, pages, {
		executionId: 'exec-once-4',
		onError: 'continueErrorOutput',
	});
	expect(api.sim.requests('scrape')).toHaveLength(2);
	expect(jsonOf(again.outputs[1]).map((item) => item.error)).toEqual([
		'This page was already sent to webscrape.ai by an earlier attempt of this execution, so it was not sent again [item 0]',
		'This page was already sent to webscrape.ai by an earlier attempt of this execution, so it was not sent again [item 1]',
	]);
});

test('a workflow never saved (no workflow ID) runs as before: the record is best effort there', async () => {
	api.sim.clearLog();
	const writes = processedData.writes;
	const first = await api.run(run('onceRecipe1'), [{}], {
		executionId: 'exec-once-5',
		workflowId: null,
	});
	expect(first.error).toBeUndefined();
	expect(first.outputs[0]).toHaveLength(2);
	expect(api.sim.requests('dispatch')).toHaveLength(1);
	expect(processedData.writes).toBe(writes);
});

test('when n8n cannot write the record (database error), nothing is sent and the item says so', async () => {
	api.sim.clearLog();
	// The database keeps failing (the lock's attempts and the record's three tries all fail).
	processedData.failCalls = 1000;
	const result = await api.run(run('onceRecipe1'), [{}], {
		executionId: 'exec-once-6',
		onError: 'continueErrorOutput',
	});
	processedData.failCalls = 0;
	expect(api.sim.requests('dispatch')).toHaveLength(0);
	expect(jsonOf(result.outputs[1])[0].error).toBe(
		"Could not record the request in n8n's database, so it was not sent [item 0]",
	);
	// A passing fault is retried: one failed write, then the run goes ahead.
	processedData.failCalls = 1;
	const retried = await api.run(run('onceRecipe1'), [{}], { executionId: 'exec-once-7' });
	expect(retried.outputs[0]).toHaveLength(2);
	expect(api.sim.requests('dispatch')).toHaveLength(1);
});
