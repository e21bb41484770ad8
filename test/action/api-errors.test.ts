import { runAction } from '../harness/engine';
import { FAST, TEST_KEY, expectNoSecret, fakeKey, useSimulator } from '../helpers';

const api = useSimulator();

beforeAll(() => {
	api.sim.addRecipe('quick1', { durationMs: 200, itemsPerPage: 1 });
});
beforeEach(() => {
	api.sim.clearLog();
	api.sim.runs.clear();
});

const runQuick = (options: object = {}) => ({
	resource: 'recipe',
	operation: 'run',
	recipeId: 'quick1',
	options: { ...FAST, checkQuota: false, ...options },
});

describe('API errors and retries', () => {
	test('insufficient_credits: the headline gives balance and amount required; no retry', async () => {
		const key = fakeKey('POORkey');
		api.sim.addKey(key, { credits: 1 });
		const result = await runAction(runQuick(), [{}], {
			credentials: { apiKey: key, baseUrl: api.baseUrl },
		});
		api.seen.push(result.outputs, result.error);
		expect(result.error?.message).toBe(
			'Not enough webscrape.ai credits: balance 1, this request needs 2',
		);
		expect(result.error?.description).toMatch(/Request ID: req_\w+/);
		expect(api.sim.requests('dispatch')).toHaveLength(1);
		expect(JSON.stringify(result)).not.toContain(key);
	});

	test('unauthorized (envelope): the key reads as rejected; no retry', async () => {
		const result = await runAction(runQuick(), [{}], {
			credentials: { apiKey: fakeKey('WRONGkey'), baseUrl: api.baseUrl },
		});
		expect(result.error?.message).toBe('webscrape.ai rejected the API key');
		expect(result.error?.description).toContain('revoked');
		expect(api.sim.requests('dispatch')).toHaveLength(1);
		expect(JSON.stringify(result)).not.toContain(fakeKey('WRONGkey'));
	});

	test('unauthorized (plain {"error": "..."} body): same headline, the message in the description', async () => {
		api.sim.fault({ route: 'dispatch', type: 'plain401' });
		const { error } = await api.run(runQuick());
		expect(error?.message).toBe('webscrape.ai rejected the API key');
		expect(error?.description).toContain('invalid api key');
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	});

	test('not_found names the recipe', async () => {
		const { error } = await api.run({ ...runQuick(), recipeId: 'doesNotExist' });
		expect(error?.message).toBe('Recipe "doesNotExist" was not found');
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	});

	test('not_found on Run → Get names the run', async () => {
		const { error } = await api.run({ resource: 'run', operation: 'get', runId: 'nope123' });
		expect(error?.message).toBe('Run "nope123" was not found');
	});

	test('rate_limited (per minute) with Retry-After: retried after it, one run', async () => {
		api.sim.fault({
			route: 'dispatch',
			type: 'rate_limited',
			reason: 'rate_limit_per_min',
			retryAfter: 0.3,
		});
		const { error, outputs } = await api.run(runQuick());
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
		const dispatches = api.sim.requests('dispatch');
		expect(dispatches.map((entry) => entry.status)).toEqual([429, 202]);
		expect(dispatches[1].at - dispatches[0].at).toBeGreaterThanOrEqual(290);
		expect(api.sim.runs.size).toBe(1);
	});

	test('rate_limited (in flight) without Retry-After: retried with backoff, one run', async () => {
		api.sim.fault({ route: 'dispatch', type: 'rate_limited', reason: 'max_concurrent_requests' });
		const { error } = await api.run(runQuick());
		expect(error).toBeUndefined();
		const dispatches = api.sim.requests('dispatch');
		expect(dispatches.map((entry) => entry.status)).toEqual([429, 202]);
		// 1 s ± 30 % jitter
		expect(dispatches[1].at - dispatches[0].at).toBeGreaterThanOrEqual(680);
		expect(api.sim.runs.size).toBe(1);
	});

	test('rate_limited (monthly run quota): not retried, and the headline says the quota is used up', async () => {
		api.sim.fault({
			route: 'dispatch',
			type: 'rate_limited',
			reason: 'sb_runs_per_month',
			retryAfter: 0,
		});
		const { error } = await api.run(runQuick());
		expect(error?.message).toBe(
			'Your SmartBrowse run quota is used up: 50 of 50 runs used in the last 30 days',
		);
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	});

	test("the plan's concurrency cap is waited out, not given up after 3 retries; one run", async () => {
		api.sim.fault({
			route: 'dispatch',
			type: 'rate_limited',
			reason: 'max_concurrent_requests',
			retryAfter: 0,
			times: 4,
		});
		const { error, outputs } = await api.run(runQuick());
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
		expect(api.sim.requests('dispatch').map((entry) => entry.status)).toEqual([
			429, 429, 429, 429, 202,
		]);
		expect(api.sim.runs.size).toBe(1);
	});

	test.each([500, 502, 503])(
		'HTTP %i on dispatch is retried (documented safe); one run',
		async (status) => {
			api.sim.fault({ route: 'dispatch', type: 'status', status, retryAfter: 0 });
			const { error } = await api.run(runQuick());
			expect(error).toBeUndefined();
			expect(api.sim.requests('dispatch').map((entry) => entry.status)).toEqual([status, 202]);
			expect(api.sim.runs.size).toBe(1);
		},
	);

	test('HTTP 504 on dispatch is not retried: the run may exist', async () => {
		// A gateway that stopped waiting: webscrape.ai behind it went on and started the run.
		api.sim.fault({ route: 'dispatch', type: 'status', status: 504, processed: true });
		const { error } = await api.run(runQuick());
		expect(error?.message).toBe(
			'The run of recipe "quick1" may have started, but webscrape.ai\'s answer was lost',
		);
		expect(error?.description).not.toContain('safe to retry');
		expect(api.sim.requests('dispatch')).toHaveLength(1);
		expect(api.sim.runs.size).toBe(1);
	});

	test('HTTP 504 on Page → Scrape is not retried and says it may have been billed (found by the checker, seed 20)', async () => {
		api.sim.fault({ route: 'scrape', type: 'status', status: 504, processed: true });
		const { error } = await api.run({
			resource: 'page',
			operation: 'scrape',
			url: 'https://example.com/a',
		});
		expect(error?.message).toBe(
			'webscrape.ai may have processed the request, but its answer was lost',
		);
		expect(error?.description).toContain('not retried, so that you are not billed twice');
		expect(api.sim.requests('scrape')).toHaveLength(1);
	});

	test('500 and 502 on polls are retried and the run still completes', async () => {
		api.sim.fault({ route: 'run', type: 'status', status: 500, retryAfter: 0 });
		api.sim.fault({
			route: 'run',
			type: 'status',
			status: 502,
			code: 'service_unavailable',
			retryAfter: 0,
		});
		const { error, outputs } = await api.run(runQuick());
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
		expect(
			api.sim.requests('run').filter((entry) => entry.status === 500 || entry.status === 502),
		).toHaveLength(2);
	});

	test('an HTML page from a proxy: retried as a 502; if it persists, the error says so in words', async () => {
		api.sim.fault({ route: 'usage', type: 'html', status: 502, retryAfter: 0, times: 4 });
		const { error } = await api.run({ resource: 'usage', operation: 'get' });
		expect(error?.message).toBe(
			'webscrape.ai answered with an unexpected response (HTTP 502, text/html)',
		);
		expect(error?.description).toContain('502 Bad Gateway');
		expect(error?.description).not.toContain('<h1>');
		expect(api.sim.requests('usage')).toHaveLength(4);
	});

	test('malformed JSON on a poll is retried', async () => {
		api.sim.fault({ route: 'run', type: 'malformed' });
		const { error, outputs } = await api.run(runQuick());
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
	});

	test('malformed JSON on a dispatch: the run may have started, so no second dispatch', async () => {
		api.sim.fault({ route: 'dispatch', type: 'malformed' });
		const { error } = await api.run(runQuick());
		expect(error?.message).toBe(
			'The run of recipe "quick1" may have started, but webscrape.ai\'s answer was lost',
		);
		expect(error?.description).toContain('not retried');
		expect(api.sim.requests('dispatch')).toHaveLength(1);
		expect(api.sim.runs.size).toBe(1);
	});

	test('connection reset before the request is read: no second dispatch', async () => {
		api.sim.fault({ route: 'dispatch', type: 'reset-before' });
		const { error } = await api.run(runQuick());
		expect(error?.message).toMatch(/may have started/);
		expect(error?.description).toMatch(/Network error: E[A-Z]+/);
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	});

	test('connection reset after the run was created: no second dispatch, no second run', async () => {
		api.sim.fault({ route: 'dispatch', type: 'reset-after' });
		const { error } = await api.run(runQuick());
		expect(error?.message).toMatch(/may have started/);
		expect(api.sim.requests('dispatch')).toHaveLength(1);
		expect(api.sim.runs.size).toBe(1);
	});

	test('connection reset on a poll is retried', async () => {
		api.sim.fault({ route: 'run', type: 'reset-after' });
		const { error, outputs } = await api.run(runQuick());
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
	});

	test('a slow reply is waited for', async () => {
		api.sim.fault({ route: 'dispatch', type: 'slow', delayMs: 1500 });
		const { error, outputs } = await api.run(runQuick());
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	});

	test('nothing listening: retried (the request never left), then a clear error', async () => {
		const result = await runAction(runQuick(), [{}], {
			credentials: { apiKey: TEST_KEY, baseUrl: 'http://127.0.0.1:9/v1' },
		});
		api.seen.push(result.outputs, result.error);
		expect(result.error?.message).toBe('Could not reach webscrape.ai');
		expect(result.error?.description).toContain('ECONNREFUSED');
		expect(result.error?.description).toContain('Gave up after 3 retries');
	});

	test('the API key appears in no output, error or log line', () => {
		expectNoSecret(api.seen);
	});
});
