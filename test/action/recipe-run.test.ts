import type { IDataObject } from 'n8n-workflow';

import { FAST, expectNoSecret, jsonOf, pairedOf, useSimulator } from '../helpers';

const api = useSimulator();

describe('Recipe → Run', () => {
	test('3 pages × 4 items become 12 items in order, each paired to its input', async () => {
		const { outputs, error } = await api.run(
			{ resource: 'recipe', operation: 'run', recipeId: 'm3Yc2tFvN8q', options: FAST },
			[{ input: 'a' }, { input: 'b' }],
		);
		expect(error).toBeUndefined();
		const items = outputs[0];
		expect(items).toHaveLength(24);
		expect(
			jsonOf(items)
				.slice(0, 12)
				.map((row) => row.name),
		).toEqual([
			'Product 1-1',
			'Product 1-2',
			'Product 1-3',
			'Product 1-4',
			'Product 2-1',
			'Product 2-2',
			'Product 2-3',
			'Product 2-4',
			'Product 3-1',
			'Product 3-2',
			'Product 3-3',
			'Product 3-4',
		]);
		expect(pairedOf(items)).toEqual([
			...Array(12).fill({ item: 0 }),
			...Array(12).fill({ item: 1 }),
		]);
		// The dispatch sends no body, as the API documents.
		const dispatches = api.sim.requests('dispatch').slice(-2);
		expect(dispatches.map((entry) => [entry.body, entry.contentType])).toEqual([
			[undefined, undefined],
			[undefined, undefined],
		]);
	});

	test('in an ordinary workflow the node waits for its Timeout: the tool-only Tool Wait is ignored', async () => {
		const started = Date.now();
		const { outputs, error } = await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'm3Yc2tFvN8q',
			options: { ...FAST, toolWait: 0.2 },
		});
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(12);
		expect(jsonOf(outputs[0]).some((row) => 'note' in row)).toBe(false);
		// The run takes 1 s in the simulator, five times the Tool Wait.
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
	});

	test('output "run" gives the run object with credits_remaining', async () => {
		const { outputs } = await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'm3Yc2tFvN8q',
			output: 'run',
			options: FAST,
		});
		expect(outputs[0]).toHaveLength(1);
		const run = outputs[0][0].json as { result: { pages: unknown[] } } & IDataObject;
		expect(run.run_status).toBe('completed');
		expect(run.recipe_id).toBe('m3Yc2tFvN8q');
		expect(run.pages_extracted).toBe(3);
		expect(run.result.pages).toHaveLength(3);
		expect(run.credits_remaining).toBe(api.sim.account().credits);
		expect(outputs[0][0].pairedItem).toEqual({ item: 0 });
	});

	test('without waiting it outputs the dispatch data and polls nothing', async () => {
		api.sim.clearLog();
		const { outputs } = await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'm3Yc2tFvN8q',
			waitForCompletion: false,
		});
		const data = outputs[0][0].json;
		expect(Object.keys(data).sort()).toEqual([
			'created_at',
			'poll_url',
			'recipe_id',
			'run_id',
			'run_status',
		]);
		expect(data.run_status).toBe('running');
		expect(api.sim.requests('run')).toHaveLength(0);
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	});

	test('"Include Run Metadata" adds _run to every row', async () => {
		const { outputs } = await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'm3Yc2tFvN8q',
			options: { ...FAST, includeRunMetadata: true },
		});
		const rows = jsonOf(outputs[0]);
		const runId = api.sim.requests('dispatch').slice(-1)[0].runId;
		// The run's cost rides along, so a row says what its run cost.
		expect(rows[0]._run).toEqual({ id: runId, recipe_id: 'm3Yc2tFvN8q', page: 0, credits_used: 6 });
		expect(rows[11]._run).toEqual({
			id: runId,
			recipe_id: 'm3Yc2tFvN8q',
			page: 2,
			credits_used: 6,
		});
	});

	test('5 items run at once, and the output keeps input order', async () => {
		// Earlier items take longer, so runs end in reverse order.
		for (let i = 0; i < 5; i++) {
			api.sim.addRecipe(`fanout${i}`, {
				durationMs: 1000 + (4 - i) * 150,
				itemsPerPage: 1,
				item: () => ({ recipe: `fanout${i}` }),
			});
		}
		api.sim.runs.clear();
		api.sim.clearLog();
		const { outputs, error } = await api.run(
			{ resource: 'recipe', operation: 'run', recipeId: '={{ $json.recipe }}', options: FAST },
			[0, 1, 2, 3, 4].map((i) => ({ recipe: `fanout${i}` })),
		);
		expect(error).toBeUndefined();
		expect(api.sim.requests('dispatch')).toHaveLength(5);
		expect(api.sim.runsOverlapped()).toBe(true);
		expect(api.sim.maxConcurrentRuns()).toBe(5);
		expect(jsonOf(outputs[0]).map((row) => row.recipe)).toEqual([
			'fanout0',
			'fanout1',
			'fanout2',
			'fanout3',
			'fanout4',
		]);
		expect(pairedOf(outputs[0])).toEqual([0, 1, 2, 3, 4].map((item) => ({ item })));
	});

	test('with concurrency 2, no more than 2 runs are ever in progress, and all 5 complete', async () => {
		api.sim.runs.clear();
		api.sim.clearLog();
		const { outputs, error } = await api.run(
			{
				resource: 'recipe',
				operation: 'run',
				recipeId: '={{ $json.recipe }}',
				options: { ...FAST, concurrency: 2 },
			},
			[0, 1, 2, 3, 4].map((i) => ({ recipe: `fanout${i}` })),
		);
		expect(error).toBeUndefined();
		expect(api.sim.requests('dispatch')).toHaveLength(5);
		expect(api.sim.maxConcurrentRuns()).toBe(2);
		expect(jsonOf(outputs[0]).map((row) => row.recipe)).toEqual([
			'fanout0',
			'fanout1',
			'fanout2',
			'fanout3',
			'fanout4',
		]);
	});

	test('spaces around a recipe ID are trimmed, and polls go to the base URL host, not to poll_url', async () => {
		api.sim.addRecipe('with-dash_and_underscore', { durationMs: 300 });
		api.sim.clearLog();
		const { error } = await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: ' with-dash_and_underscore ',
			options: FAST,
		});
		expect(error).toBeUndefined();
		expect(api.sim.requests('dispatch')[0].path).toBe(
			'/v1/smartbrowse/recipes/with-dash_and_underscore/run',
		);
		const runId = api.sim.requests('dispatch')[0].runId;
		expect(
			api.sim.requests('run').every((entry) => entry.path === `/v1/smartbrowse/runs/${runId}`),
		).toBe(true);
	});

	test('the API key appears in no output, error or log line', () => {
		expectNoSecret(api.seen);
	});
});
