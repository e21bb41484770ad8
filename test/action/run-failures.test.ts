import { FAST, expectNoSecret, jsonOf, sleepMs, useSimulator } from '../helpers';

const api = useSimulator();

beforeAll(() => {
	api.sim.addRecipe('failing1', {
		outcome: 'failed',
		durationMs: 300,
		error: 'target page did not load within timeout',
	});
	api.sim.addRecipe('cancelled1', {
		outcome: 'cancelled',
		durationMs: 300,
		error: 'account deletion confirmed',
	});
	api.sim.addRecipe('drifty1', { durationMs: 300, drift: 0.5, itemsPerPage: 2 });
	api.sim.addRecipe('ok1', { durationMs: 300, itemsPerPage: 2, item: (_p, i) => ({ row: i }) });
	api.sim.addRecipe('slow1', { durationMs: 8000 });
});

const recipe = (recipeId: string, options: object = {}, extra: object = {}) => ({
	resource: 'recipe',
	operation: 'run',
	recipeId,
	options: { ...FAST, ...options },
	...extra,
});

describe('runs that do not succeed', () => {
	test('a failed run is an error carrying the run error text', async () => {
		const { error, outputs } = await api.run(recipe('failing1'));
		expect(error?.message).toMatch(
			/^Run "\w+" failed: target page did not load within timeout \[item 0\]$/,
		);
		expect(outputs).toEqual([]);
	});

	test('a cancelled run is an error carrying the run error text', async () => {
		const { error } = await api.run(recipe('cancelled1'));
		expect(error?.message).toMatch(/cancelled: account deletion confirmed/);
	});

	test('"On Run Failure: Output the Run" emits the failed run and goes on', async () => {
		const { error, outputs } = await api.run(recipe('failing1', { onRunFailure: 'output' }));
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
		expect(outputs[0][0].json).toMatchObject({
			run_status: 'failed',
			error: 'target page did not load within timeout',
		});
		expect(outputs[0][0].pairedItem).toEqual({ item: 0 });
	});

	test('continue-on-fail: the failing item becomes an error item, the others go on', async () => {
		const { error, outputs } = await api.run(
			recipe('={{ $json.recipe }}'),
			[{ recipe: 'ok1' }, { recipe: 'failing1' }, { recipe: 'ok1' }],
			{ onError: 'continueRegularOutput' },
		);
		expect(error).toBeUndefined();
		const rows = outputs[0];
		expect(rows.map((row) => row.pairedItem)).toEqual([
			{ item: 0 },
			{ item: 0 },
			{ item: 1 },
			{ item: 2 },
			{ item: 2 },
		]);
		expect(rows[2].json.error).toMatch(/failed: target page did not load within timeout/);
		expect(rows[0].json).toEqual({ row: 0 });
	});

	test('error output: the failing item goes to the error branch, paired with its input', async () => {
		const { outputs } = await api.run(
			recipe('={{ $json.recipe }}'),
			[{ recipe: 'ok1' }, { recipe: 'failing1' }],
			{ onError: 'continueErrorOutput' },
		);
		expect(outputs[0]).toHaveLength(2);
		expect(outputs[1]).toHaveLength(1);
		expect(outputs[1][0].json.error).toMatch(/failed: target page did not load/);
		expect(outputs[1][0].pairedItem).toEqual({ item: 1 });
	});

	test('without continue-on-fail, the error names the runs other items already started', async () => {
		const { error } = await api.run(recipe('={{ $json.recipe }}'), [
			{ recipe: 'failing1' },
			{ recipe: 'slow1' },
		]);
		expect(error?.message).toMatch(/failed/);
		const slowRun = api.sim
			.requests('dispatch')
			.filter((entry) => entry.id === 'slow1')
			.slice(-1)[0].runId;
		expect(error?.description).toContain(`${slowRun} (item 1)`);
		expect(error?.description).toContain('Run → Get');
	});

	test('maxDrift: a completed run that drifted above it is a failure; below it passes', async () => {
		const drifted = await api.run(recipe('drifty1', { maxDrift: 0.2 }));
		expect(drifted.error?.message).toMatch(
			/page changed since the recipe was recorded \(drift 0.5 is above the allowed 0.2\)/,
		);
		const fine = await api.run(recipe('drifty1', { maxDrift: 0.6 }));
		expect(fine.error).toBeUndefined();
		expect(jsonOf(fine.outputs[0])).toHaveLength(2);
	});

	test('timeout: the error names the run and its last status, and polling stops', async () => {
		api.sim.clearLog();
		const { error } = await api.run(recipe('slow1', { timeout: 1 }));
		const runId = api.sim.requests('dispatch')[0].runId;
		expect(error?.message).toBe(
			`Run "${runId}" did not finish within 1 s (last status: running) [item 0]`,
		);
		expect(error?.description).toContain('Run → Get');
		const count = api.sim.log.length;
		await sleepMs(1500);
		expect(api.sim.log.length).toBe(count);
	});

	test('timeout with continue-on-fail gives an error item with the same text', async () => {
		const { outputs } = await api.run(recipe('slow1', { timeout: 0.5 }), [{}], {
			onError: 'continueRegularOutput',
		});
		expect(outputs[0][0].json.error).toMatch(
			/did not finish within 0.5 s \(last status: running\)/,
		);
	});

	test('cancelling the execution stops waiting at once, with no request afterwards', async () => {
		api.sim.clearLog();
		const startedAt = Date.now();
		const { status } = await api.run(recipe('slow1'), [{}], { cancelAfterMs: 700 });
		expect(status).toBe('canceled');
		expect(Date.now() - startedAt).toBeLessThan(2000);
		const cancelledAt = startedAt + 700;
		const count = api.sim.log.length;
		expect(api.sim.requests('run').length).toBeGreaterThan(0);
		await sleepMs(1500);
		expect(api.sim.log.length).toBe(count);
		expect(api.sim.log.every((entry) => entry.at <= cancelledAt + 50)).toBe(true);
	});

	test('the API key appears in no output, error or log line', () => {
		expectNoSecret(api.seen);
	});
});
