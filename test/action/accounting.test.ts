/**
 * The accounting rule's mends (docs/exactly-once.md, A-rows), each on the case the fault-schedule
 * checker found: every request that may have reached webscrape.ai ends in one place a user sees.
 */
import { expectNoSecret, FAST, jsonOf, useSimulator } from '../helpers';

const api = useSimulator();

beforeAll(() => {
	for (const id of ['acctA', 'acctB', 'acctC']) api.sim.addRecipe(id, { durationMs: 200 });
});
beforeEach(() => {
	api.sim.clearLog();
	api.sim.clearFaults();
	api.sim.runs.clear();
});
afterAll(() => expectNoSecret(api.seen));

const recipeRun = (options: object = {}) => ({
	resource: 'recipe',
	operation: 'run',
	recipeId: '={{ $json.recipe }}',
	waitForCompletion: false,
	options: { ...FAST, checkQuota: false, concurrency: 3, ...options },
});
const threeRecipes = [{ recipe: 'acctA' }, { recipe: 'acctB' }, { recipe: 'acctC' }];
const scrape = (options: object = {}) => ({
	resource: 'page',
	operation: 'scrape',
	url: '={{ $json.url }}',
	options,
});
const pages = (count: number) =>
	Array.from({ length: count }, (_, index) => ({ url: `https://shop.example/p${index}` }));

describe('every billed request accounted for', () => {
	test('a batch whose three dispatch answers are lost, no error output: the node error names all three items, and nothing is sent twice', async () => {
		api.sim.fault({ route: 'dispatch', type: 'reset-after', times: 3 });
		const { error } = await api.run(recipeRun(), threeRecipes);
		expect(api.sim.runs.size).toBe(3);
		expect(api.sim.requests('dispatch')).toHaveLength(3);
		const failed = Number(error?.context?.itemIndex);
		expect(error?.message).toMatch(/^The run of recipe "acct[ABC]" may have started/);
		const others = [0, 1, 2].filter((item) => item !== failed);
		expect(error?.description).toContain(
			`This execution also sent 2 other requests that webscrape.ai may bill: ${others
				.map((item) => `may have started a run, its answer lost (item ${item})`)
				.join(', ')}.`,
		);
		expect(error?.description).toContain('Run → Get');
	});

	test('the same batch with the error output on: one error item per item, each saying its run may have started', async () => {
		api.sim.fault({ route: 'dispatch', type: 'reset-after', times: 3 });
		const { error, outputs } = await api.run(recipeRun(), threeRecipes, {
			onError: 'continueErrorOutput',
		});
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(0);
		expect(jsonOf(outputs[1]).map((json) => json.error)).toEqual(
			['acctA', 'acctB', 'acctC'].map(
				(id) => `The run of recipe "${id}" may have started, but webscrape.ai's answer was lost`,
			),
		);
		expect(api.sim.requests('dispatch')).toHaveLength(3);
	});

	test('a Scrape batch stopped by a refused item names the pages already billed, whose results n8n drops', async () => {
		// Concurrency 1: items 0 and 1 are scraped and billed, item 2 is refused.
		const seen: string[] = [];
		api.sim.faultWith((entry) => {
			seen.push(entry.route);
			return entry.route === 'scrape' && seen.filter((route) => route === 'scrape').length === 3
				? { type: 'status', status: 402, code: 'insufficient_credits' }
				: undefined;
		});
		try {
			const { error, outputs } = await api.run(scrape({ concurrency: 1 }), pages(4));
			expect(outputs).toEqual([]);
			expect(error?.message).toMatch(/^Not enough webscrape\.ai credits/);
			expect(error?.description).toContain(
				'This execution also sent 2 other requests that webscrape.ai may bill: billed, its result not shown (item 0), billed, its result not shown (item 1). Their results are lost with this error, and running these items again pays for them again',
			);
			expect(api.sim.requests('scrape').map((entry) => entry.credits ?? 0)).toEqual([1, 1, 0]);
		} finally {
			api.sim.faultWith(undefined);
		}
	});

	test('Max Credits with Wait for Completion off: a run not waited for counts its worst case at once, so the next item is refused now, not after its Timeout', async () => {
		// One run's worst case: 200 pages × 2 credits. Before the mend the second item waited for the
		// first run's cost until its Timeout (10 minutes here; 15 by default).
		const { outputs, error } = await api.run(
			recipeRun({ maxCredits: 400, timeout: 600, concurrency: 1 }),
			threeRecipes.slice(0, 2),
			{ onError: 'continueErrorOutput' },
		);
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
		expect(jsonOf(outputs[1]).map((json) => json.error)).toEqual([
			'Budget of 400 credits for this execution reached: spent 400; this request could cost up to 400, so it was not sent [item 1]',
		]);
		expect(api.sim.requests('dispatch')).toHaveLength(1);
	}, 30_000);

	test("an item waiting for the budget holds no slot of the plan: a request refused for the plan's cap gets its slot back and is answered", async () => {
		// Item 0 sets aside the whole budget; items 1 and 2 wait for it. Before the mend they waited
		// holding plan slots, and item 0, refused once for the plan's cap, waited for a slot until
		// its Timeout.
		api.sim.fault({
			route: 'scrape',
			type: 'rate_limited',
			reason: 'max_concurrent_requests',
			retryAfter: 0.05,
		});
		const { outputs, error } = await api.run(
			scrape({ maxCredits: 1, concurrency: 3, timeout: 20 }),
			pages(3),
			{ onError: 'continueErrorOutput' },
		);
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
		expect(outputs[1]).toHaveLength(2);
		expect(jsonOf(outputs[1])[0].error).toMatch(/^Budget of 1 credits for this execution reached/);
		expect(api.sim.requests('scrape').map((entry) => entry.status)).toEqual([429, 200]);
	}, 15_000);
});
