/**
 * budget/creditBudget.ts, word for word and figure for figure: every refusal a user or a model reads
 * (a call, a whole batch, with and without an earlier attempt of the execution), the balance Keep at
 * Least works from, what the output pane is told, and the budget a node run opens.
 */
import type { IExecuteFunctions, INode } from 'n8n-workflow';

import {
	BudgetRefusal,
	budgetFor,
	CreditBudget,
	endedRunCost,
	openBudget,
	reportSpent,
} from '../../../nodes/WebScrapeAi/budget/creditBudget';
import { BilledCallRecord } from '../../../nodes/WebScrapeAi/exactlyOnce/billedCallRecord';
import { actionContextOn, completed } from '../../harness/actionContext';
import { nodeContextOn, ProcessedDataTable } from '../../harness/processedData';

const node = { name: 'WebScrape AI', type: 'webScrapeAi', typeVersion: 1 } as INode;
const EARLIER =
	'n8n ran this execution again, most likely because the worker running it stopped (queue mode). What the first attempt spent is not known here, so all it may have spent counts toward "Max Credits". This attempt sent nothing; the first attempt may have: check the webscrape.ai dashboard before running it again.';

function refusalOf(run: () => unknown): BudgetRefusal {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(BudgetRefusal);
		return error as BudgetRefusal;
	}
	throw new Error('not refused');
}

const budget = (maxCredits: number, keepAtLeast = 0) =>
	new CreditBudget({ maxCredits, keepAtLeast });

describe('a call that does not fit', () => {
	test('the cap: the message, the item, what a model reads, and what to do', async () => {
		const b = budget(10);
		b.settle(await b.reserve(node, 0, 6), 6);
		const refusal = refusalOf(() => b.refuseIfHopeless(node, 3, 5));
		expect(refusal.message).toBe(
			'Budget of 10 credits for this execution reached: spent 6; this request could cost up to 5, so it was not sent [item 3]',
		);
		expect(refusal.itemIndex).toBe(3);
		expect(refusal.context.itemIndex).toBe(3);
		expect(refusal.description).toBe(
			'Nothing was sent for this item, so nothing was billed. Raise "Max Credits" in the node\'s options, or send fewer items.',
		);
		expect(refusal.toolNote).toBe(
			'Budget of 10 credits for this execution reached: spent 6. This request (up to 5 credits) was not sent and nothing was billed for it. Do not call again: further calls are refused too until the budget ("Max Credits") is raised.',
		);
	});

	test('exactly the cap fits; one more does not', async () => {
		const b = budget(10);
		const reservation = await b.reserve(node, 0, 10);
		expect(b.total).toBe(10);
		b.release(reservation);
		expect(() => b.refuseIfHopeless(node, 0, 10)).not.toThrow();
		b.settle(await b.reserve(node, 0, 4), 4);
		expect(() => b.refuseIfHopeless(node, 1, 6)).not.toThrow();
		expect(() => b.refuseIfHopeless(node, 1, 7)).toThrow(BudgetRefusal);
	});

	test('a call that fits once answers in progress free their reservation is not hopeless', async () => {
		const b = budget(10);
		await b.reserve(node, 0, 8);
		expect(() => b.refuseIfHopeless(node, 1, 2)).not.toThrow();
		expect(() => b.refuseIfHopeless(node, 1, 3)).not.toThrow();
		expect(() => b.refuseIfHopeless(node, 1, 10)).not.toThrow();
		expect(() => b.refuseIfHopeless(node, 1, 11)).toThrow(BudgetRefusal);
	});

	test('after an earlier attempt: what it may have spent, what this one spent, and the note', async () => {
		const b = budget(10);
		b.assumeSpent(7);
		b.settle(await b.reserve(node, 0, 1), 1);
		const refusal = refusalOf(() => b.refuseIfHopeless(node, 1, 5));
		expect(refusal.message).toBe(
			'Budget of 10 credits for this execution reached: an earlier attempt of this execution may have spent up to 7 (n8n ran it again), this one 1; this request could cost up to 5, so it was not sent [item 1]',
		);
		expect(refusal.description).toBe(EARLIER);
	});

	test('a tool budget speaks of its own scope', () => {
		const b = new CreditBudget({ maxCredits: 2, keepAtLeast: 0 }, 'this tool today');
		expect(refusalOf(() => b.refuseIfHopeless(node, 0, 3)).message).toMatch(
			/^Budget of 2 credits for this tool today reached: spent 0;/,
		);
	});

	test('the floor: the balance after requests in progress, what to do, what a model reads', async () => {
		const b = budget(0, 80);
		b.learnBalance(90);
		expect(b.needsBalance).toBe(false);
		await b.reserve(node, 0, 6);
		const refusal = await b.reserve(node, 1, 5, { deadline: Date.now() }).catch((e) => e);
		expect(refusal.message).toBe(
			'Your webscrape.ai balance (84 credits after requests in progress) must stay at 80 or more; this request could cost up to 5, so it was not sent [item 1]',
		);
		expect(refusal.description).toBe(
			'Nothing was sent for this item, so nothing was billed. Top up your credits, or lower "Keep at Least" in the node\'s options.',
		);
		expect(refusal.toolNote).toBe(
			'Your webscrape.ai balance (84 credits after requests in progress) must stay at 80 or more. This request (up to 5 credits) was not sent and nothing was billed for it. Do not call again until credits are topped up.',
		);
	});

	test.each([
		// [balance, set aside, worst, refused, hopeless]
		[90, 0, 10, false, false],
		[90, 0, 11, true, true],
		[90, 6, 4, false, false],
		[90, 6, 5, true, false],
		[90, 6, 10, true, false],
		[90, 6, 11, true, true],
	])(
		'the floor of 80 on a balance of %i with %i set aside: %i more refused %s, hopeless %s',
		async (balance, aside, worst, refused, hopeless) => {
			const b = budget(0, 80);
			b.learnBalance(balance);
			if (aside > 0) await b.reserve(node, 0, aside);
			const outcome = await b.reserve(node, 1, worst, { deadline: Date.now() }).then(
				() => 'sent',
				() => 'refused',
			);
			expect(outcome).toBe(refused ? 'refused' : 'sent');
			if (refused) {
				const thrown = (() => {
					try {
						b.refuseIfHopeless(node, 1, worst);
						return false;
					} catch {
						return true;
					}
				})();
				expect(thrown).toBe(hopeless);
			}
		},
	);

	test('a balance below zero after requests in progress is shown as 0', async () => {
		const b = budget(0, 1);
		b.learnBalance(3);
		await b.reserve(node, 0, 2);
		b.learnBalance(1);
		expect(refusalOf(() => b.refuseIfHopeless(node, 1, 5)).message).toMatch(
			/^Your webscrape\.ai balance \(0 credits after requests in progress\)/,
		);
	});

	test('a balance known without Keep at Least sets no floor (answers report it anyway)', async () => {
		const b = budget(10);
		b.learnBalance(3);
		expect(() => b.refuseIfHopeless(node, 0, 5)).not.toThrow();
		await b.reserve(node, 0, 5);
		expect(b.batchRefusal(node, [5])).toBeUndefined();
		const floorUnknown = budget(10, 5);
		expect(floorUnknown.batchRefusal(node, [5, 5])).toBeUndefined();
	});

	test('a cap and a floor: without a known balance only the cap counts', () => {
		const b = budget(5, 1000);
		expect(b.needsBalance).toBe(true);
		expect(() => b.refuseIfHopeless(node, 0, 5)).not.toThrow();
		expect(() => b.refuseIfHopeless(node, 0, 6)).toThrow(/^Budget of 5 credits/);
	});
});

describe('the balance', () => {
	test.each([
		['no figure', undefined, true],
		['a figure in words', '50', true],
		['not a number', Number.NaN, true],
		['infinite', Number.POSITIVE_INFINITY, true],
		['a figure', 50, false],
	])('%s from an answer: still needed %s', (_what, remaining, needed) => {
		const b = budget(0, 10);
		b.learnBalance(remaining);
		expect(b.needsBalance).toBe(needed);
	});

	test('a reported balance does not yet count the requests in flight: they are taken off it', async () => {
		const b = budget(0, 10);
		b.learnBalance(100);
		await b.reserve(node, 0, 30);
		b.learnBalance(100);
		// 100 - 30 in flight = 70: 60 more fits above the floor of 10, 61 does not.
		await expect(b.reserve(node, 1, 61, { deadline: Date.now() })).rejects.toThrow(
			/balance \(70 credits after requests in progress\)/,
		);
		await b.reserve(node, 1, 60);
	});

	test('an answer gives back what its call did not cost, then its own balance', async () => {
		const b = budget(0, 10);
		b.learnBalance(50);
		const first = await b.reserve(node, 0, 20);
		b.settle(first, 5);
		// 50 - 20 + (20 - 5) = 45: a 35 fits exactly, 36 does not.
		expect(() => b.refuseIfHopeless(node, 1, 36)).toThrow(/balance \(45 credits/);
		const second = await b.reserve(node, 1, 10);
		b.settle(second, 10, 12);
		expect(() => b.refuseIfHopeless(node, 2, 3)).toThrow(/balance \(12 credits/);
	});

	test.each([
		['a negative cost', -3, 5],
		['a cost in words', '2', 5],
		['an infinite cost', Number.POSITIVE_INFINITY, 5],
		['no cost', undefined, 5],
		['zero', 0, 0],
		['a cost', 2, 2],
	])('%s counts as %i', async (_what, used, counted) => {
		const b = budget(100);
		b.settle(await b.reserve(node, 0, 5), used);
		expect(b.total).toBe(counted);
	});

	test('a reservation settles once', async () => {
		const b = budget(100);
		const reservation = await b.reserve(node, 0, 5);
		b.settle(reservation, 1);
		b.keep(reservation);
		b.release(reservation);
		expect(b.total).toBe(1);
	});
});

describe('a whole batch that does not fit', () => {
	test('the cap: how much it could cost, what the budget allows, the first item out, what to do', () => {
		const b = budget(12);
		const error = b.batchRefusal(node, [0, 5, 5, 5]);
		expect(error?.message).toBe(
			'This batch of 3 requests could cost up to 15 credits, but the budget of 12 credits for this execution allows 12: nothing was sent [item 3]',
		);
		expect(error?.context.itemIndex).toBe(3);
		expect(error?.description).toBe(
			'Item 3 is the first that would not fit. Without "On Error → Continue", a budget reached halfway would stop the node, and n8n keeps no output of a stopped node, so results already paid for would be lost: nothing was sent. Send fewer items (a Limit node), raise "Max Credits", or set On Error to "Continue (using error output)" to get the requests that fit and an error item for each of the others.',
		);
	});

	test('exactly the room fits', () => {
		expect(budget(10).batchRefusal(node, [5, 5])).toBeUndefined();
		expect(budget(10).batchRefusal(node, [5, 6])?.message).toMatch(/nothing was sent \[item 1\]$/);
	});

	test('after an earlier attempt: the room left and why', () => {
		const b = budget(12);
		b.assumeSpent(10);
		const error = b.batchRefusal(node, [1, 1, 1]);
		expect(error?.message).toBe(
			'This batch of 3 requests could cost up to 3 credits, but the budget of 12 credits for this execution allows 2 (an earlier attempt of this execution may have spent up to 10: n8n ran it again): nothing was sent [item 2]',
		);
		expect(error?.description).toBe(EARLIER);
	});

	test('the floor, when it is nearer than the cap', () => {
		const b = budget(100, 80);
		b.learnBalance(90);
		expect(b.batchRefusal(node, [5, 5, 5])?.message).toBe(
			'This batch of 3 requests could cost up to 15 credits, but your webscrape.ai balance (90 credits) must stay at 80 or more: nothing was sent [item 2]',
		);
		expect(b.batchRefusal(node, [5, 5])).toBeUndefined();
	});

	test('the cap, when it is nearer than the floor (or as near)', () => {
		const b = budget(10, 80);
		b.learnBalance(90);
		expect(b.batchRefusal(node, [5, 5, 5])?.message).toMatch(
			/but the budget of 10 credits for this execution allows 10:/,
		);
		const floorOnly = budget(0, 80);
		floorOnly.learnBalance(100);
		expect(floorOnly.batchRefusal(node, [10, 10, 10])?.message).toMatch(
			/^This batch of 3 requests could cost up to 30 credits, but your webscrape\.ai balance \(100 credits\)/,
		);
	});

	test('spent credits count against the cap; nothing left means item 0', async () => {
		const b = budget(10);
		b.settle(await b.reserve(node, 0, 10), 10);
		expect(b.batchRefusal(node, [1])?.message).toBe(
			'This batch of 1 requests could cost up to 1 credits, but the budget of 10 credits for this execution allows 0: nothing was sent [item 0]',
		);
	});

	test('every item fits but the last: the first out is the last', () => {
		expect(budget(9).batchRefusal(node, [3, 3, 3, 3])?.message).toMatch(/\[item 3\]$/);
	});
});

describe('what a node run opens and reports', () => {
	test.each([
		['a completed run with its credits', { run_status: 'completed', credits_used: 7 }, 7],
		['a completed run priced by its pages', { run_status: 'completed', pages_extracted: 3 }, 6],
		[
			'a completed run with credits in words',
			{ run_status: 'completed', credits_used: '7', pages_extracted: 2 },
			4,
		],
		['a completed run with nothing to price it', { run_status: 'completed' }, Number.NaN],
		[
			'a completed run whose credits are not a number',
			{ run_status: 'completed', credits_used: Number.NaN, pages_extracted: 3 },
			6,
		],
		['a failed run', { run_status: 'failed', credits_used: 7 }, 0],
		['a cancelled run', { run_status: 'cancelled', pages_extracted: 3 }, 0],
	])('what %s cost', (_what, data, cost) => {
		expect(endedRunCost({ status: 'completed', data }, 2)).toBe(cost);
	});

	test('the output pane and the log are told what was spent, with the cap', async () => {
		const { context, hints } = actionContextOn(new ProcessedDataTable());
		const logged: string[] = [];
		(context as { logger: { info: (text: string) => void } }).logger.info = (text) => {
			logged.push(text);
		};
		const b = budget(10);
		b.settle(await b.reserve(node, 0, 4), 3);
		reportSpent(context, b);
		const message =
			'Spent 3 credits of the 10 allowed in this execution (worst cases of requests whose cost is not known yet included).';
		expect(hints).toEqual([message]);
		expect(logged).toEqual([`WebScrape AI: ${message}`]);
		reportSpent(context, budget(0, 5));
		expect(hints[1]).toBe(
			'Spent 0 credits in this execution (worst cases of requests whose cost is not known yet included).',
		);
		reportSpent(context, budget(0));
		expect(hints).toHaveLength(2);
	});

	test('an n8n without execution hints is told in its log only', () => {
		const { context } = actionContextOn(new ProcessedDataTable());
		(context as { addExecutionHints?: unknown }).addExecutionHints = undefined;
		expect(() => reportSpent(context, budget(10))).not.toThrow();
	});

	test('a node run reads its limits from the first valid item; as a tool it shares one budget across calls', () => {
		const options = { maxCredits: 7, keepAtLeast: 2 };
		const { context } = actionContextOn(new ProcessedDataTable(), { options });
		const once = budgetFor(context, 0);
		expect(once.limits).toEqual(options);
		expect(budgetFor(context, 0)).not.toBe(once);
		const tool = actionContextOn(new ProcessedDataTable(), {
			options,
			nodeType: 'x.webScrapeAiTool',
			executionId: 'exec-shared',
		}).context;
		const shared = budgetFor(tool, 0);
		expect(budgetFor(tool, 0)).toBe(shared);
		expect(shared.limits).toEqual(options);
	});

	test('a limit that is not a whole number of credits is an error naming it', () => {
		const { context } = actionContextOn(new ProcessedDataTable(), {
			options: { keepAtLeast: 1.5 },
		});
		expect(() => budgetFor(context, 2)).toThrow(/Keep at Least/);
		const cap = actionContextOn(new ProcessedDataTable(), { options: { maxCredits: -1 } }).context;
		expect(() => budgetFor(cap, 0)).toThrow(/Max Credits/);
	});

	test('opening: Keep at Least reads the balance once (from the usage answer given, or the API)', async () => {
		const table = new ProcessedDataTable();
		const { context, requests } = actionContextOn(table, {
			answer: () => completed({}, { used: 0, remaining: 40 }),
		});
		const record = new BilledCallRecord(
			context,
			'recipe.run',
			{ message: String, description: '' },
			2,
		);
		const given = budget(0, 10);
		await openBudget(context, given, record, [5], {
			status: 'completed',
			data: {},
			credits_remaining: 20,
		});
		expect(requests).toHaveLength(0);
		expect(() => given.refuseIfHopeless(node, 0, 11)).toThrow(/balance \(20 credits/);
		const read = budget(0, 10);
		await openBudget(context, read, record, [5]);
		expect(requests.map((request) => request.url)).toEqual([
			'http://127.0.0.1:9/v1/smartbrowse/usage',
		]);
		expect(() => read.refuseIfHopeless(node, 0, 31)).toThrow(/balance \(40 credits/);
		const inactive = budget(0);
		await openBudget(context, inactive, record, [5]);
		expect(requests).toHaveLength(1);
	});

	test('opening a second attempt: every worst case counts, up to the cap (C3)', async () => {
		const table = new ProcessedDataTable();
		const repeat = { message: String, description: '' };
		const first = new BilledCallRecord(nodeContextOn(table), 'recipe.run', repeat, 3);
		await first.earlierAttempt();
		const again = () =>
			new BilledCallRecord(nodeContextOn(table), 'recipe.run', repeat, 3) as BilledCallRecord;
		const context = nodeContextOn(table) as IExecuteFunctions;
		const under = budget(20);
		await openBudget(context, under, again(), [4, 5, 6]);
		expect(under.total).toBe(15);
		const over = budget(12);
		await openBudget(context, over, again(), [4, 5, 6]);
		expect(over.total).toBe(12);
		const noCap = budget(0, 1);
		noCap.learnBalance(100);
		await openBudget(context, noCap, again(), [4, 5, 6]);
		expect(noCap.total).toBe(0);
		const fresh = budget(20);
		await openBudget(
			context,
			fresh,
			new BilledCallRecord(nodeContextOn(new ProcessedDataTable()), 'recipe.run', repeat, 3),
			[4, 5, 6],
		);
		expect(fresh.total).toBe(0);
	});

	test('a wait for the budget ends with the refusal when the batch stops', async () => {
		const b = budget(10);
		await b.reserve(node, 0, 8);
		const stop = new AbortController();
		const waiting = b.reserve(node, 1, 5, {
			deadline: Date.now() + 5_000,
			signals: [undefined, stop.signal],
		});
		stop.abort();
		await expect(waiting).rejects.toThrow(/^Budget of 10 credits/);
	});
});
