import type { IDataObject } from 'n8n-workflow';

import type { ActionRun } from '../harness/engine';
import { FAST, expectNoSecret, jsonOf, useSimulator } from '../helpers';
import type { LogEntry } from '../simulator';

/**
 * Max Credits and Keep at Least: a billed call is sent only when its worst case fits, whatever the
 * concurrency, retries or throttle waits; credits are counted where they are spent (the simulator's
 * account, the authority), and every refused item says why in words.
 */
const api = useSimulator();
let keyCounter = 0;

/** An account of its own per case: its credits are what the case spent. */
function account(plan: IDataObject = {}): {
	key: string;
	credentials: { apiKey: string; baseUrl: string };
	spent: () => number;
	log: (route?: LogEntry['route']) => LogEntry[];
} {
	const key = `wsg_live_BUDGETsecret${Date.now() % 100000}b${String(++keyCounter).padStart(5, '0')}`;
	const start = Number(plan.credits ?? 100_000);
	const created = api.sim.addKey(key, { credits: start, ...plan });
	return {
		key,
		credentials: { apiKey: key, baseUrl: api.baseUrl },
		spent: () => start - created.credits,
		log: (route) => api.sim.requests(route).filter((entry) => entry.account === key.slice(-6)),
	};
}

/** What the output pane tells the user (n8n's execution hints). */
const hintsOf = (run: ActionRun) =>
	(run.run.data.resultData.runData['WebScrape AI'][0].hints ?? []).map((hint) => hint.message);

const extract = (options: IDataObject) => ({
	resource: 'page',
	operation: 'extract',
	url: '={{ $json.url }}',
	prompt: 'The page title',
	options,
});
const scrape = (options: IDataObject) => ({
	resource: 'page',
	operation: 'scrape',
	url: '={{ $json.url }}',
	options,
});
const recipeRun = (options: IDataObject) => ({
	resource: 'recipe',
	operation: 'run',
	recipeId: 'budget3pg',
	options: { ...FAST, ...options },
});
const urls = (count: number) =>
	Array.from({ length: count }, (_, index) => ({ url: `https://example.com/budget/${index}` }));
const BUDGET_MESSAGE =
	/^Budget of 50 credits for this execution reached: spent \d+(, and \d+ set aside for requests in progress)?; this request could cost up to 5, so it was not sent \[item \d+\]$/;

beforeAll(() => {
	api.sim.addRecipe('budget3pg', { pages: 3, itemsPerPage: 2, durationMs: 600 });
});

describe('Max Credits on Page → Extract', () => {
	test('200 items, concurrency 10, Max Credits 50: exactly 10 calls sent (at once), 50 spent, 190 refused with the message, the 10 rows output', async () => {
		const acct = account({ responseDelayMs: 800 });
		const run = await api.run(extract({ maxCredits: 50, concurrency: 10 }), urls(200), {
			credentials: acct.credentials,
			onError: 'continueErrorOutput',
		});
		expect(run.error).toBeUndefined();
		const [rows, refused] = run.outputs;
		expect(acct.log('extract')).toHaveLength(10);
		// Concurrency 10: all ten were in flight together (at 5 they would come in two waves 800 ms apart).
		const sentAt = acct.log('extract').map((entry) => entry.at);
		expect(Math.max(...sentAt) - Math.min(...sentAt)).toBeLessThan(400);
		expect(acct.spent()).toBe(50);
		expect(rows).toHaveLength(10);
		for (const row of jsonOf(rows)) expect(row.credits_used).toBe(5);
		expect(refused).toHaveLength(190);
		for (const item of jsonOf(refused)) expect(String(item.error)).toMatch(BUDGET_MESSAGE);
		expect(refused![0].error?.description).toMatch(/nothing was billed/);
		expect(hintsOf(run)).toEqual([expect.stringMatching(/^Spent 50 credits of the 50 allowed/)]);
	});

	test('the same with 429 refusals (retried) and a per-minute wait in the middle: still 10 calls, 50 spent', async () => {
		const acct = account({ perMinute: 8, retryAfter: true });
		api.sim.fault({
			route: 'extract',
			type: 'rate_limited',
			reason: 'max_concurrent_requests',
			times: 3,
		});
		const started = Date.now();
		const run = await api.run(extract({ maxCredits: 50 }), urls(30), {
			credentials: acct.credentials,
			onError: 'continueErrorOutput',
		});
		api.sim.clearFaults();
		const [rows, refused] = run.outputs;
		const accepted = acct.log('extract').filter((entry) => entry.status === 200);
		expect(accepted).toHaveLength(10);
		expect(acct.log('extract').some((entry) => entry.status === 429)).toBe(true);
		expect(acct.spent()).toBe(50);
		expect(rows).toHaveLength(10);
		expect(refused).toHaveLength(20);
		// Ten calls at eight per minute: the batch waited for the window in the middle.
		expect(Date.now() - started).toBeGreaterThan(30_000);
	}, 150_000);

	test('without Continue On Fail a batch that cannot fit is refused whole: nothing sent, nothing paid for lost', async () => {
		const acct = account();
		const run = await api.run(extract({ maxCredits: 12 }), urls(8), {
			credentials: acct.credentials,
		});
		expect(run.error?.message).toBe(
			'This batch of 8 requests could cost up to 40 credits, but the budget of 12 credits for this execution allows 12: nothing was sent [item 2]',
		);
		expect(run.error?.description).toMatch(
			/^Item 2 is the first that would not fit\. Without "On Error → Continue"/,
		);
		expect(acct.log()).toHaveLength(0);
		expect(acct.spent()).toBe(0);
	});

	test('without Continue On Fail a batch that fits is sent whole: Max Credits 40, 8 items at 5', async () => {
		const acct = account();
		const run = await api.run(extract({ maxCredits: 40 }), urls(8), {
			credentials: acct.credentials,
		});
		expect(run.error).toBeUndefined();
		expect(run.outputs[0]).toHaveLength(8);
		expect(acct.spent()).toBe(40);
		expect(hintsOf(run)).toEqual([expect.stringMatching(/^Spent 40 credits of the 40 allowed/)]);
	});

	test('without Continue On Fail, Keep at Least refuses a batch that would go below the floor, before sending', async () => {
		const acct = account({ credits: 100 });
		const run = await api.run(scrape({ keepAtLeast: 80 }), urls(30), {
			credentials: acct.credentials,
		});
		expect(run.error?.message).toBe(
			'This batch of 30 requests could cost up to 30 credits, but your webscrape.ai balance (100 credits) must stay at 80 or more: nothing was sent [item 20]',
		);
		expect(acct.log('scrape')).toHaveLength(0);
		expect(acct.spent()).toBe(0);
	});

	test('stealth counts at its price (10): Max Credits 25 sends two', async () => {
		const acct = account();
		const run = await api.run(extract({ maxCredits: 25, stealth: true }), urls(4), {
			credentials: acct.credentials,
			onError: 'continueErrorOutput',
		});
		expect(acct.log('extract')).toHaveLength(2);
		expect(acct.spent()).toBe(20);
		expect(run.outputs[1]).toHaveLength(2);
	});

	test('bad values name the field: a negative Max Credits, a text Keep at Least; nothing is sent', async () => {
		const acct = account();
		const negative = await api.run(extract({ maxCredits: -5 }), urls(2), {
			credentials: acct.credentials,
		});
		expect(negative.error?.message).toBe(
			'Option "Max Credits" must be at least 0 (got -5) [item 0]',
		);
		const text = await api.run(extract({ keepAtLeast: 'plenty' }), urls(2), {
			credentials: acct.credentials,
		});
		expect(text.error?.message).toBe(
			'Option "Keep at Least" must be a number (got "plenty") [item 0]',
		);
		const none = await api.run(extract({ concurrency: 0 }), urls(2), {
			credentials: acct.credentials,
		});
		expect(none.error?.message).toBe('Option "Concurrency" must be at least 1 (got 0) [item 0]');
		expect(acct.log()).toHaveLength(0);
	});
});

describe('Keep at Least', () => {
	test('stops at the floor: 100 credits, keep 80, Scrape at 1 credit sends 20, the rest say why', async () => {
		const acct = account({ credits: 100 });
		const run = await api.run(scrape({ keepAtLeast: 80 }), urls(30), {
			credentials: acct.credentials,
			onError: 'continueErrorOutput',
		});
		expect(acct.log('scrape')).toHaveLength(20);
		expect(acct.spent()).toBe(20);
		// The balance was learnt from the free usage endpoint, once.
		expect(acct.log('usage')).toHaveLength(1);
		const refused = jsonOf(run.outputs[1]);
		expect(refused).toHaveLength(10);
		expect(String(refused[0].error)).toMatch(
			/^Your webscrape\.ai balance \(80 credits after requests in progress\) must stay at 80 or more; this request could cost up to 1, so it was not sent \[item \d+\]$/,
		);
	});
});

describe('Max Credits on Recipe → Run', () => {
	test('a 3-page run on a 20-page cap sets 40 aside and releases 34 when it completes: 3 runs fit in 80, 18 spent', async () => {
		const acct = account({ pagesPerRunCap: 20 });
		const run = await api.run(recipeRun({ maxCredits: 80, concurrency: 10 }), [{}, {}, {}], {
			credentials: acct.credentials,
		});
		expect(run.error).toBeUndefined();
		expect(run.outputs[0]).toHaveLength(18);
		expect(acct.log('dispatch').filter((entry) => entry.status === 202)).toHaveLength(3);
		expect(acct.spent()).toBe(18);
		// Two runs (80 set aside) were in progress at most: the third waited for one to end.
		expect(hintsOf(run)).toEqual([expect.stringMatching(/^Spent 18 credits of the 80 allowed/)]);
	});

	test('without Continue On Fail, a run the budget refuses fails the node once the run in progress ends, naming it for Run → Get', async () => {
		const acct = account({ pagesPerRunCap: 20 });
		const run = await api.run(recipeRun({ maxCredits: 45, concurrency: 10 }), [{}, {}, {}], {
			credentials: acct.credentials,
		});
		// Item 0's run (40 set aside) ends costing 6; item 1's 40 no longer fits in 45.
		const started = acct.log('dispatch').filter((entry) => entry.status === 202);
		expect(started).toHaveLength(1);
		expect(acct.spent()).toBe(6);
		expect(run.error?.message).toBe(
			'Budget of 45 credits for this execution reached: spent 6; this request could cost up to 40, so it was not sent [item 1]',
		);
		const runId = started[0].runId;
		expect(runId).toBeDefined();
		expect(run.error?.description).toContain(`${runId} (item 0)`);
		expect(run.error?.description).toContain('Fetch them with Run → Get');
	});

	test("a cap below one run's worst case starts nothing, saying so", async () => {
		const acct = account({ pagesPerRunCap: 20 });
		const run = await api.run(recipeRun({ maxCredits: 30 }), [{}], {
			credentials: acct.credentials,
		});
		expect(run.error?.message).toBe(
			'Budget of 30 credits for this execution reached: spent 0; this request could cost up to 40, so it was not sent [item 0]',
		);
		expect(acct.log('dispatch')).toHaveLength(0);
		expectNoSecret(api.seen, [acct.key]);
	});
});

test('a second attempt of the execution counts what the first may have spent: the cap holds across both', async () => {
	const acct = account();
	const options = {
		credentials: acct.credentials,
		executionId: 'exec-budget-again',
		workflowId: 'wf-budget',
		onError: 'continueErrorOutput' as const,
	};
	const first = await api.run(extract({ maxCredits: 30 }), urls(4), options);
	expect(first.outputs[0]).toHaveLength(4);
	// n8n runs the same execution again (a worker died after the batch, before it was saved).
	const again = await api.run(extract({ maxCredits: 30 }), urls(8), options);
	expect(acct.spent()).toBeLessThanOrEqual(30);
	expect(acct.log('extract')).toHaveLength(4);
	// What the first attempt spent is not known here: all it may have spent (up to the cap) counts.
	const refused = again.outputs[1]!;
	expect(jsonOf(refused).map((item) => String(item.error))).toEqual(
		[0, 1, 2, 3, 4, 5, 6, 7].map(
			(index) =>
				`Budget of 30 credits for this execution reached: an earlier attempt of this execution may have spent up to 30 (n8n ran it again), this one 0; this request could cost up to 5, so it was not sent [item ${index}]`,
		),
	);
	expect(refused[0].error?.description).toMatch(/^n8n ran this execution again/);
	// Without Continue On Fail the second attempt refuses the batch whole, saying why.
	const strict = await api.run(extract({ maxCredits: 30 }), urls(8), {
		...options,
		onError: undefined,
	});
	expect(strict.error?.message).toBe(
		'This batch of 8 requests could cost up to 40 credits, but the budget of 30 credits for this execution allows 0 (an earlier attempt of this execution may have spent up to 30: n8n ran it again): nothing was sent [item 0]',
	);
	expect(acct.log('extract')).toHaveLength(4);
	expectNoSecret(api.seen, [acct.key]);
});
