import type { IDataObject } from 'n8n-workflow';

import { expectNoSecret, FAST, figure, jsonOf, pairedOf, useSimulator } from '../helpers';
import type { Account, LogEntry } from '../simulator';

/**
 * Batches larger than the plan's throttles (shared/smartbrowse-api.md 1.7): the node waits them
 * out instead of failing, never dispatches or bills an item twice, and gives up only at the item's
 * Timeout. Each scenario runs on its own simulated account (its own key and plan).
 */
const api = useSimulator();
const keys: string[] = [];
let keyCounter = 0;

function account(plan: Partial<Account>): { key: string; credentials: IDataObject } {
	// The simulator's log names the account by the key's last 6 characters: keep those unique.
	const key = `wsg_live_THROTTLEsecret${Date.now() % 100000}k${String(++keyCounter).padStart(5, '0')}`;
	api.sim.addKey(key, { credits: 100000, ...plan });
	keys.push(key);
	return { key, credentials: { apiKey: key, baseUrl: api.baseUrl } };
}

function logOf(key: string, route?: LogEntry['route']): LogEntry[] {
	return api.sim.requests(route).filter((entry) => entry.account === key.slice(-6));
}

const statuses = (entries: LogEntry[]) => entries.map((entry) => entry.status);
const count = (entries: LogEntry[], status: number) =>
	entries.filter((entry) => entry.status === status).length;

function runsOf(key: string) {
	return [...api.sim.runs.values()].filter(
		(run) => (run as unknown as { key: string }).key === key,
	);
}

beforeAll(() => {
	api.sim.addRecipe('throttle2s', { pages: 1, itemsPerPage: 2, durationMs: 2000 });
});

const recipeRun = (options: IDataObject = {}) => ({
	resource: 'recipe',
	operation: 'run',
	recipeId: 'throttle2s',
	options: { ...FAST, ...options },
});

const twelve = Array.from({ length: 12 }, (_, i) => ({ i }));

describe('plan concurrency cap: back-pressure, not failure', () => {
	test('12 items at the default Concurrency on a plan with 3 runs in progress: all succeed, one run each', async () => {
		const { key, credentials } = account({ maxConcurrent: 3 });
		const started = Date.now();
		const { outputs, error } = await api.run(recipeRun(), twelve, {
			credentials: credentials as never,
		});
		const wallMs = Date.now() - started;
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(24);
		expect(pairedOf(outputs[0])).toEqual(twelve.flatMap((_, i) => [{ item: i }, { item: i }]));
		expect(jsonOf(outputs[0]).every((row) => typeof row.name === 'string')).toBe(true);
		const dispatches = logOf(key, 'dispatch');
		// Exactly one accepted dispatch per item, and a run per accepted dispatch only.
		expect(count(dispatches, 202)).toBe(12);
		expect(runsOf(key)).toHaveLength(12);
		expect(dispatches.every((entry) => entry.status === 202 || entry.status === 429)).toBe(true);
		// Ideal: ⌈12 / 3⌉ rounds of 2 s; poll lag up to the 0.5 s max interval per round.
		const ideal = 4 * 2000;
		expect(wallMs).toBeLessThanOrEqual(1.5 * ideal + 4 * 500);
		figure(
			`cap 3 runs, 12 items: ${wallMs} ms (ideal ${ideal} ms), ${count(dispatches, 429)} refused dispatches`,
		);
	});

	test('the same when the cap counts only requests in flight (slow dispatch answers)', async () => {
		const { key, credentials } = account({
			maxConcurrent: 3,
			concurrencyCounts: 'requests',
			responseDelayMs: 400,
		});
		const { outputs, error } = await api.run(recipeRun(), twelve, {
			credentials: credentials as never,
		});
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(24);
		expect(pairedOf(outputs[0])).toEqual(twelve.flatMap((_, i) => [{ item: i }, { item: i }]));
		expect(count(logOf(key, 'dispatch'), 202)).toBe(12);
		expect(count(logOf(key, 'dispatch'), 429)).toBeGreaterThan(0);
		expect(runsOf(key)).toHaveLength(12);
	});

	test('a batch that cannot start within its Timeout: those items fail naming the cap and the wait; started runs finish', async () => {
		// Another workflow holds one of the plan's two slots for the whole test.
		const { key, credentials } = account({ maxConcurrent: 2 });
		api.sim.occupy(1, 30_000, key);
		const { outputs, error } = await api.run(
			recipeRun({ timeout: 3 }),
			[{ i: 0 }, { i: 1 }, { i: 2 }],
			{ credentials: credentials as never, onError: 'continueErrorOutput' },
		);
		expect(error).toBeUndefined();
		const [rows, errors] = outputs;
		// Items 0 and 1 ran one after the other in the one free slot; item 2 found none in 3 s.
		expect(pairedOf(rows)).toEqual([{ item: 0 }, { item: 0 }, { item: 1 }, { item: 1 }]);
		expect(errors).toHaveLength(1);
		expect(errors[0].pairedItem).toEqual({ item: 2 });
		expect(errors[0].json.error).toMatch(
			/^Could not start the run of recipe "throttle2s" within its Timeout \(3 s\): your webscrape\.ai plan allows 2 runs in progress at once \(waited [23](\.\d)? s\) \[item 2\]$/,
		);
		expect(errors[0].error?.description).toContain('nothing was billed');
		expect(count(logOf(key, 'dispatch'), 202)).toBe(2);
		expect(runsOf(key)).toHaveLength(2);
	});

	test('without continue-on-fail the same error stops the node and names the runs that go on', async () => {
		const { key, credentials } = account({ maxConcurrent: 2 });
		api.sim.occupy(1, 30_000, key);
		const { error } = await api.run(recipeRun({ timeout: 3 }), [{ i: 0 }, { i: 1 }, { i: 2 }], {
			credentials: credentials as never,
		});
		expect(error?.message).toMatch(/plan allows 2 runs in progress at once/);
		const started = runsOf(key).map((run) => run.id);
		expect(started.length).toBeGreaterThanOrEqual(1);
		for (const id of started) expect(error?.description).toContain(id);
		expect(count(logOf(key, 'dispatch'), 202)).toBe(started.length);
	});

	test('cancelling while waiting for a slot stops at once, with no request afterwards', async () => {
		const { key, credentials } = account({ maxConcurrent: 1 });
		api.sim.occupy(1, 30_000, key);
		const started = Date.now();
		const { status } = await api.run(recipeRun(), [{}, {}], {
			credentials: credentials as never,
			cancelAfterMs: 1500,
		});
		const endedMs = Date.now() - started;
		expect(status).toBe('canceled');
		expect(endedMs).toBeLessThan(2500);
		expect(logOf(key).every((entry) => entry.at <= started + 1550)).toBe(true);
		expect(runsOf(key)).toHaveLength(0);
	});
});

describe('plan per-minute limit: one shared pace', () => {
	const fourteen = Array.from({ length: 14 }, (_, i) => ({
		url: `https://example.com/page/${i}`,
	}));
	const scrape = { resource: 'page', operation: 'scrape', url: '={{ $json.url }}' };
	const extract = {
		resource: 'page',
		operation: 'extract',
		url: '={{ $json.url }}',
		prompt: 'The title',
	};

	test('14 scrapes (with and without Retry-After) and 14 extracts at 10 per minute: all succeed within about one window, none billed twice', async () => {
		const plans = [
			{ name: 'scrape, no Retry-After', params: scrape, route: 'scrape', retryAfter: false },
			{ name: 'scrape, Retry-After', params: scrape, route: 'scrape', retryAfter: true },
			{ name: 'extract, no Retry-After', params: extract, route: 'extract', retryAfter: false },
		] as const;
		// Three accounts at once: the window is 60 s and cannot be shortened.
		const results = await Promise.all(
			plans.map(async (plan) => {
				const { key, credentials } = account({ perMinute: 10, retryAfter: plan.retryAfter });
				const started = Date.now();
				const result = await api.run(plan.params, fourteen, { credentials: credentials as never });
				return { plan, key, result, wallMs: Date.now() - started };
			}),
		);
		for (const { plan, key, result, wallMs } of results) {
			const log = logOf(key, plan.route);
			figure(`${plan.name}: ${wallMs} ms, ${count(log, 200)} billed, ${count(log, 429)} refused`);
			expect(result.error).toBeUndefined();
			expect(result.outputs[0]).toHaveLength(14);
			expect(pairedOf(result.outputs[0])).toEqual(fourteen.map((_, i) => ({ item: i })));
			expect(count(log, 200)).toBe(14);
			expect(count(log, 429)).toBeLessThanOrEqual(14);
			expect(statuses(log).every((status) => status === 200 || status === 429)).toBe(true);
			// The four beyond the limit wait for the window: about 60 s, well under two windows.
			expect(wallMs).toBeGreaterThanOrEqual(55_000);
			expect(wallMs).toBeLessThanOrEqual(75_000);
		}
	}, 120_000);

	test('a page that cannot get through within its Timeout fails naming the limit; cancelling a window wait stops at once', async () => {
		const timed = account({ perMinute: 2 });
		const cancelled = account({ perMinute: 2 });
		const started = Date.now();
		const [timedOut, cancelledRun] = await Promise.all([
			api.run({ ...scrape, options: { timeout: 5 } }, fourteen.slice(0, 3), {
				credentials: timed.credentials as never,
				onError: 'continueErrorOutput',
			}),
			api.run(scrape, fourteen.slice(0, 4), {
				credentials: cancelled.credentials as never,
				cancelAfterMs: 1500,
			}),
		]);
		const [rows, errors] = timedOut.outputs;
		expect(pairedOf(rows)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(errors).toHaveLength(1);
		expect(errors[0].json.error).toMatch(
			/^Could not send the request within its Timeout: your webscrape\.ai plan allows 2 requests per minute \(waited \d+(\.\d)? s; the next free turn was \d+(\.\d)? s away\) \[item 2\]$/,
		);
		expect(count(logOf(timed.key, 'scrape'), 200)).toBe(2);

		expect(cancelledRun.status).toBe('canceled');
		expect(count(logOf(cancelled.key, 'scrape'), 200)).toBe(2);
		expect(logOf(cancelled.key).every((entry) => entry.at <= started + 1550)).toBe(true);
	}, 30_000);
});

test('monthly quota stays an immediate error, and no key appears anywhere', async () => {
	const { key, credentials } = account({ maxConcurrent: 3, runsUsed30d: 50, runsCap: 50 });
	const { error } = await api.run(recipeRun({ checkQuota: false }), [{}], {
		credentials: credentials as never,
	});
	expect(error?.message).toBe(
		'Your SmartBrowse run quota is used up: 50 of 50 runs used in the last 30 days',
	);
	expect(logOf(key, 'dispatch')).toHaveLength(1);
	expectNoSecret(api.seen, keys);
});
