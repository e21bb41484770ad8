/**
 * exactlyOnce/billedCallRecord.ts on the model of n8n's processed_data table (test/harness/
 * processedData.ts), with the process dying at every point of a fold: docs/exactly-once.md's B3
 * (claim before call) and B7 (a fold writes its watermark before it removes the claims, so a second
 * attempt finds one or the other), deterministically, without an engine or a clock.
 */
import {
	BilledCallRecord,
	FOLD_STEP,
} from '../../../nodes/WebScrapeAi/exactlyOnce/billedCallRecord';
import { nodeContextOn, ProcessedDataTable } from '../../harness/processedData';

const REPEAT = { message: (item: number) => `repeat ${item}`, description: '' };
const ITEMS = 3 * FOLD_STEP + 4;

/**
 * One attempt of execution `exec1`'s node run, as n8n's context hands it the helpers. `dieAfter`
 * node-row calls from when it is set, the process is gone: every later call of its node row fails.
 * (Its lock row, the workflow scope, is left to work: a dead holder's lock is L1-L4's subject.)
 */
function attempt(table: ProcessedDataTable) {
	let left = Infinity;
	const context = nodeContextOn(table, (scope) => {
		if (scope !== 'node') return;
		if (left <= 0) throw new Error('the worker died');
		left--;
	});
	return {
		record: new BilledCallRecord(context, 'scrape', REPEAT, ITEMS),
		dieAfter: (calls: number) => (left = calls),
	};
}

async function claims(record: BilledCallRecord, from: number, to: number) {
	const outcomes: string[] = [];
	for (let item = from; item < to; item++) outcomes.push(await record.claim(item));
	return outcomes;
}

test('B3: a second attempt finds every claim the first wrote before its calls, and nothing else', async () => {
	const table = new ProcessedDataTable();
	const first = attempt(table);
	expect(new Set(await claims(first.record, 0, 10))).toEqual(new Set(['first']));
	const second = attempt(table);
	expect(new Set(await claims(second.record, 0, 10))).toEqual(new Set(['claimed-before']));
	expect(await second.record.claim(10)).toBe('first');
});

// A fold of two steps makes four node-row calls: record the watermark (and ask for a second attempt),
// remove the folded claims (with the old watermark and a start entry), record the start entry again.
test('B7: the process dying at any point of a fold (after 0 to 4 of its node-row calls, or not at all): the second attempt sends none of the folded items again', async () => {
	const sentAgain: Record<string, number> = {};
	for (const calls of [0, 1, 2, 3, 4, Infinity]) {
		const table = new ProcessedDataTable();
		const first = attempt(table);
		expect(new Set(await claims(first.record, 0, 2 * FOLD_STEP))).toEqual(new Set(['first']));
		first.dieAfter(calls);
		await first.record.fold();
		const second = attempt(table);
		const outcomes = await claims(second.record, 0, 2 * FOLD_STEP);
		sentAgain[`dies after ${calls}`] = outcomes.filter(
			(outcome) => outcome !== 'claimed-before',
		).length;
		expect(await second.record.claim(2 * FOLD_STEP)).toBe('first');
	}
	expect(sentAgain).toEqual({
		'dies after 0': 0,
		'dies after 1': 0,
		'dies after 2': 0,
		'dies after 3': 0,
		'dies after 4': 0,
		'dies after Infinity': 0,
	});
});

test('B7: a fold keeps the row small: the folded claims are gone, one watermark stands for them', async () => {
	const table = new ProcessedDataTable();
	const first = attempt(table);
	await claims(first.record, 0, 2 * FOLD_STEP);
	const before = (table.rows.get('wf1|n:node1')?.data as string[]).length;
	await first.record.fold();
	const after = (table.rows.get('wf1|n:node1')?.data as string[]).length;
	expect(before).toBe(2 * FOLD_STEP + 2);
	expect(after).toBeLessThanOrEqual(4);
});
