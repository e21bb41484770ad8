/** Max Credits and Keep at Least: what is set aside, spent, freed and refused. */
import type { INode } from 'n8n-workflow';

import { BudgetRefusal, CreditBudget } from '../../../nodes/WebScrapeAi/budget/creditBudget';
import { timersFromNow } from '../../harness/host';

const node = { name: 'WebScrape AI', type: 'webScrapeAi', typeVersion: 1 } as INode;
const now = () => Date.now();

async function refusal(promise: Promise<unknown>): Promise<string> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(BudgetRefusal);
		return (error as Error).message;
	}
	throw new Error('not refused');
}

test('inactive without a cap or a floor', () => {
	expect(new CreditBudget({ maxCredits: 0, keepAtLeast: 0 }).active).toBe(false);
	expect(new CreditBudget({ maxCredits: 1, keepAtLeast: 0 }).active).toBe(true);
	expect(new CreditBudget({ maxCredits: 0, keepAtLeast: 1 }).active).toBe(true);
});

// [what, steps on a budget of Max Credits 10, spent after, set aside after]
test.each([
	[
		'an answer replaces the worst case by its cost',
		[
			['reserve', 5],
			['settle', 0, 2],
		],
		2,
		0,
	],
	[
		'a lost answer keeps its worst case',
		[
			['reserve', 5],
			['keep', 0],
		],
		5,
		0,
	],
	[
		'a call not sent frees its worst case',
		[
			['reserve', 5],
			['release', 0],
		],
		0,
		0,
	],
	[
		'a cost the answer does not give counts as the worst case',
		[
			['reserve', 4],
			['settle', 0, 'n/a'],
		],
		4,
		0,
	],
	[
		'settling twice counts once',
		[
			['reserve', 4],
			['settle', 0, 1],
			['keep', 0],
		],
		1,
		0,
	],
	[
		'two calls in flight',
		[
			['reserve', 4],
			['reserve', 5],
		],
		0,
		9,
	],
] as const)('%s', async (_what, steps, spent, reserved) => {
	const budget = new CreditBudget({ maxCredits: 10, keepAtLeast: 0 });
	const held = [];
	for (const [step, index, used] of steps as unknown as Array<[string, number, unknown]>) {
		if (step === 'reserve') held.push(await budget.reserve(node, held.length, index));
		else if (step === 'settle') budget.settle(held[index], used);
		else if (step === 'keep') budget.keep(held[index]);
		else budget.release(held[index]);
	}
	expect(budget.total).toBe(spent + reserved);
});

test('a call that cannot fit while others are in flight waits for their answers, then goes', async () => {
	const budget = new CreditBudget({ maxCredits: 10, keepAtLeast: 0 });
	const first = await budget.reserve(node, 0, 6);
	const second = budget.reserve(node, 1, 6, { deadline: now() + 2000 });
	budget.settle(first, 1);
	await expect(second).resolves.toEqual({ worst: 6, settled: false });
	expect(budget.total).toBe(7);
});

test('a wait woken by an answer leaves no timer running until its deadline', async () => {
	const timers = timersFromNow();
	const budget = new CreditBudget({ maxCredits: 10, keepAtLeast: 0 });
	const first = await budget.reserve(node, 0, 6);
	const second = budget.reserve(node, 1, 6, { deadline: now() + 60_000 });
	budget.settle(first, 1);
	await second;
	try {
		expect(await timers.pending()).toBe(0);
	} finally {
		timers.stop();
	}
});

test('a call that cannot fit even when every answer is in is refused at once, naming the item', async () => {
	const budget = new CreditBudget({ maxCredits: 10, keepAtLeast: 0 });
	budget.keep(await budget.reserve(node, 0, 8));
	expect(() => budget.refuseIfHopeless(node, 1, 3)).toThrow(BudgetRefusal);
	expect(await refusal(budget.reserve(node, 1, 3, { deadline: now() + 60_000 }))).toBe(
		'Budget of 10 credits for this execution reached: spent 8; this request could cost up to 3, so it was not sent [item 1]',
	);
});

test('a wait for the budget ends at its deadline', async () => {
	const budget = new CreditBudget({ maxCredits: 10, keepAtLeast: 0 });
	await budget.reserve(node, 0, 8);
	expect(await refusal(budget.reserve(node, 1, 3, { deadline: now() + 20 }))).toMatch(
		/and 8 set aside for requests in progress; .* \[item 1\]$/,
	);
});

test('Keep at Least stops at the floor: 100 credits, keep 80, 1 per call sends 20', async () => {
	const budget = new CreditBudget({ maxCredits: 0, keepAtLeast: 80 });
	budget.learnBalance(100);
	let sent = 0;
	for (let item = 0; item < 25; item++) {
		try {
			budget.settle(await budget.reserve(node, item, 1), 1);
			sent++;
		} catch (error) {
			expect(error).toBeInstanceOf(BudgetRefusal);
		}
	}
	expect(sent).toBe(20);
});

test('a second attempt counts what the first may have spent', async () => {
	const budget = new CreditBudget({ maxCredits: 10, keepAtLeast: 0 });
	budget.assumeSpent(8);
	expect(await refusal(budget.reserve(node, 0, 5))).toMatch(
		/^Budget of 10 credits for this execution reached: an earlier attempt of this execution may have spent up to 8/,
	);
});

test.each([
	[[5, 5, 5], 15, undefined],
	[[5, 5, 5], 12, 2],
	[[5, 5, 5], 4, 0],
	[[0, 5, 5], 5, 2],
])('a batch of %j on a cap of %i: refused from item %s', (worstCases, maxCredits, firstOut) => {
	const budget = new CreditBudget({ maxCredits, keepAtLeast: 0 });
	const error = budget.batchRefusal(node, worstCases);
	if (firstOut === undefined) expect(error).toBeUndefined();
	else expect(error?.message).toMatch(new RegExp(`nothing was sent \\[item ${firstOut}\\]$`));
});
