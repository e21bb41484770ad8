import { FAST, expectNoSecret, jsonOf, useSimulator } from '../helpers';

const api = useSimulator();

beforeAll(() => {
	api.sim.addRecipe('quick2', { durationMs: 200, itemsPerPage: 2 });
	api.sim.addRecipe('later2', { durationMs: 5000, itemsPerPage: 2 });
});
beforeEach(() => api.sim.clearLog());

describe('bad input is refused before any request', () => {
	test.each([
		['a/b', 'Recipe ID "a/b" is not a valid ID [item 1]'],
		['../usage', 'Recipe ID "../usage" is not a valid ID [item 1]'],
		['', 'Recipe ID is empty [item 1]'],
		[' ', 'Recipe ID is empty [item 1]'],
		['m3Yc2tFvN8q?x=1', 'Recipe ID "m3Yc2tFvN8q?x=1" is not a valid ID [item 1]'],
	])('recipeId %j → a clear error naming item and field, 0 requests', async (bad, message) => {
		const { error } = await api.run(
			{ resource: 'recipe', operation: 'run', recipeId: '={{ $json.id }}', options: FAST },
			[{ id: 'quick2' }, { id: bad }],
		);
		expect(error?.message).toBe(message);
		expect(api.sim.log).toHaveLength(0);
	});

	test('with continue-on-fail the bad item becomes an error item and the good one runs', async () => {
		const { outputs } = await api.run(
			{ resource: 'recipe', operation: 'run', recipeId: '={{ $json.id }}', options: FAST },
			[{ id: 'a/b' }, { id: 'quick2' }],
			{ onError: 'continueRegularOutput' },
		);
		expect(outputs[0].map((item) => item.pairedItem)).toEqual([
			{ item: 0 },
			{ item: 1 },
			{ item: 1 },
		]);
		expect(outputs[0][0].json.error).toBe('Recipe ID "a/b" is not a valid ID [item 0]');
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	});

	test.each([
		[{ timeout: -1 }, 'Option "Timeout" must be greater than 0 (got -1) [item 0]'],
		[{ concurrency: 0 }, 'Option "Concurrency" must be at least 1 (got 0) [item 0]'],
		[{ concurrency: 2.5 }, 'Option "Concurrency" must be a whole number (got 2.5) [item 0]'],
		[{ maxDrift: 1.5 }, 'Option "Max Drift" must be at most 1 (got 1.5) [item 0]'],
		[{ maxDrift: -0.1 }, 'Option "Max Drift" must be at least 0 (got -0.1) [item 0]'],
		[{ pollInterval: 0 }, 'Option "Poll Interval" must be at least 0.1 (got 0) [item 0]'],
		[
			{ pollInterval: 5, maxPollInterval: 2 },
			'Option "Max Poll Interval" must not be below "Poll Interval" [item 0]',
		],
	])('options %j → a clear error, 0 requests', async (options, message) => {
		const { error } = await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'quick2',
			options,
		});
		expect(error?.message).toBe(message);
		expect(api.sim.log).toHaveLength(0);
	});

	test('runId "x/../y" → a clear error, 0 requests', async () => {
		const { error } = await api.run({ resource: 'run', operation: 'get', runId: 'x/../y' });
		expect(error?.message).toBe('Run ID "x/../y" is not a valid ID [item 0]');
		expect(api.sim.log).toHaveLength(0);
	});
});

describe('Check Quota First', () => {
	test('3 items with 2 runs left → 0 dispatches, and the error says 2 remain', async () => {
		const account = api.sim.account();
		const saved = { ...account };
		account.runsCap = account.runsUsed30d + 2;
		try {
			const { error } = await api.run(
				{ resource: 'recipe', operation: 'run', recipeId: 'quick2', options: FAST },
				[{}, {}, {}],
			);
			expect(error?.message).toBe(
				'Only 2 SmartBrowse runs remain in your 30-day quota, but 3 would start, so none was started',
			);
			expect(api.sim.requests('usage')).toHaveLength(1);
			expect(api.sim.requests('dispatch')).toHaveLength(0);

			const fits = await api.run(
				{ resource: 'recipe', operation: 'run', recipeId: 'quick2', waitForCompletion: false },
				[{}, {}],
			);
			expect(fits.error).toBeUndefined();
			expect(api.sim.requests('dispatch')).toHaveLength(2);
		} finally {
			Object.assign(account, saved);
		}
	});

	test('turned off, no usage request is made', async () => {
		await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'quick2',
			waitForCompletion: false,
			options: { checkQuota: false },
		});
		expect(api.sim.requests('usage')).toHaveLength(0);
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	});
});

describe('Run → Get and Usage → Get', () => {
	test('a run still in progress is output as the run object; waiting gives its rows', async () => {
		const dispatched = await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'later2',
			waitForCompletion: false,
		});
		const runId = dispatched.outputs[0][0].json.run_id as string;
		const now = await api.run({ resource: 'run', operation: 'get', runId });
		expect(now.outputs[0]).toHaveLength(1);
		expect(now.outputs[0][0].json).toMatchObject({ id: runId, run_status: 'running' });
		expect(now.outputs[0][0].json.credits_remaining).toEqual(expect.any(Number));

		const waited = await api.run({
			resource: 'run',
			operation: 'get',
			runId,
			waitForCompletion: true,
			options: { pollInterval: 0.5, maxPollInterval: 1 },
		});
		expect(waited.error).toBeUndefined();
		expect(jsonOf(waited.outputs[0]).map((row) => row.name)).toEqual([
			'Product 1-1',
			'Product 1-2',
		]);
		// The first check is immediate, later ones follow the schedule.
		const polls = api.sim.requests('run').filter((entry) => entry.id === runId);
		expect(polls.length).toBeGreaterThanOrEqual(3);
	});

	test('Run → Get of a completed run with output "run" gives the run object', async () => {
		const done = await api.run({
			resource: 'recipe',
			operation: 'run',
			recipeId: 'quick2',
			output: 'run',
			options: FAST,
		});
		const runId = done.outputs[0][0].json.id as string;
		const { outputs } = await api.run({ resource: 'run', operation: 'get', runId, output: 'run' });
		expect(outputs[0][0].json).toMatchObject({
			id: runId,
			run_status: 'completed',
			pages_extracted: 1,
		});
	});

	test('Usage → Get gives the usage data plus credits_remaining, one item per input', async () => {
		const { outputs } = await api.run({ resource: 'usage', operation: 'get' }, [{}, {}]);
		expect(outputs[0]).toHaveLength(2);
		expect(outputs[0][1].pairedItem).toEqual({ item: 1 });
		expect(outputs[0][0].json).toMatchObject({
			runs_per_month_cap: expect.any(Number),
			runs_used_30d: expect.any(Number),
			cost_per_page: 2,
			credits_remaining: api.sim.account().credits,
		});
		expect(api.sim.requests('usage')).toHaveLength(1);
	});

	test('the API key appears in no output, error or log line', () => {
		expectNoSecret(api.seen);
	});
});
