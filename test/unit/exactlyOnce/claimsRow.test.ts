/**
 * exactlyOnce/billedCallRecord.ts read off the claims row itself: which entries each step writes
 * (claims, start entries, watermarks, the second attempt's mark), in which order, what a second
 * attempt finds, and the words when the record cannot be written. The values are the record's format,
 * a contract with executions already running (docs/exactly-once.md).
 */
import type { IExecuteFunctions } from 'n8n-workflow';

import {
	BilledCallRecord,
	FOLD_STEP,
} from '../../../nodes/WebScrapeAi/exactlyOnce/billedCallRecord';
import { nodeContextOn, ProcessedDataTable } from '../../harness/processedData';

const REPEAT = {
	message: (item: number) => `Item ${item}'s run was started before`,
	description: 'Find it on the dashboard.',
};
const ROW = 'wf1|n:node1';

function recordOn(
	table: ProcessedDataTable,
	items: number,
	ids: Parameters<typeof nodeContextOn>[2] = {},
	before?: Parameters<typeof nodeContextOn>[1],
) {
	return new BilledCallRecord(nodeContextOn(table, before, ids), 'scrape', REPEAT, items);
}

/** The row's entries, named: each of `names` whose value is in the row, in the row's order. */
function rowEntries(table: ProcessedDataTable, names: string[], row = ROW): string[] {
	const data = (table.rows.get(row)?.data ?? []) as string[];
	const byHash = new Map(names.map((name) => [ProcessedDataTable.hash(name), name]));
	return data.map((hash) => byHash.get(hash) ?? `unknown ${hash}`);
}

/** Every value a record of `items` items of execution exec1, run 0 can write. */
function valuesOf(items: number, prefix = 'exec1:0:scrape'): string[] {
	const values = [`${prefix}:again`, `${prefix}:start:a`, `${prefix}:start:b`];
	for (let item = 0; item <= items; item++) values.push(`${prefix}:${item}`, `${prefix}:w:${item}`);
	return values;
}

async function claimAll(record: BilledCallRecord, from: number, to: number): Promise<string[]> {
	const outcomes: string[] = [];
	for (let item = from; item < to; item++) outcomes.push(await record.claim(item));
	return outcomes;
}

test(`a node run of ${FOLD_STEP} items claims each call by execution, run and item, and nothing else`, async () => {
	const table = new ProcessedDataTable();
	const record = recordOn(table, FOLD_STEP);
	await claimAll(record, 0, 3);
	await record.fold(true);
	expect(rowEntries(table, valuesOf(FOLD_STEP))).toEqual([
		'exec1:0:scrape:0',
		'exec1:0:scrape:1',
		'exec1:0:scrape:2',
	]);
});

test.each([
	['its run index', 2, 'exec1:2:scrape:0'],
	['run 0 when n8n gives none', undefined, 'exec1:0:scrape:0'],
	['run 0 when n8n gives something else', '3', 'exec1:0:scrape:0'],
])('a node in a loop claims per run: %s', async (_what, runIndex, value) => {
	const table = new ProcessedDataTable();
	await recordOn(table, 2, { runIndex }).claim(0);
	expect(rowEntries(table, [value])).toEqual([value]);
});

test.each([
	['no execution', undefined],
	['an empty execution ID', ''],
	['an execution ID that is not text', 7],
])(
	'%s (a tool call outside any execution): nothing recorded, every call sent (B6)',
	async (_what, executionId) => {
		const table = new ProcessedDataTable();
		const record = recordOn(table, 40, { executionId });
		expect(await record.earlierAttempt()).toBe(false);
		expect(await claimAll(record, 0, 40)).toEqual(Array(40).fill('unrecorded'));
		await record.confirm(0);
		await record.fold(true);
		expect(table.rows.size).toBe(0);
	},
);

test(`a node run of ${FOLD_STEP + 1} items writes its start entries before its first claim`, async () => {
	const table = new ProcessedDataTable();
	const record = recordOn(table, FOLD_STEP + 1);
	await record.claim(0);
	expect(rowEntries(table, valuesOf(FOLD_STEP + 1))).toEqual([
		'exec1:0:scrape:start:a',
		'exec1:0:scrape:start:b',
		'exec1:0:scrape:0',
	]);
});

test('a fold replaces every settled step by one watermark, and writes a start entry again at the end of the row, in turn', async () => {
	const table = new ProcessedDataTable();
	const items = 3 * FOLD_STEP + 4;
	const record = recordOn(table, items);
	await claimAll(record, 0, FOLD_STEP + 8);
	record.settle(FOLD_STEP + 9);
	await record.fold();
	expect(rowEntries(table, valuesOf(items))).toEqual([
		'exec1:0:scrape:start:b',
		...Array.from({ length: 8 }, (_, index) => `exec1:0:scrape:${FOLD_STEP + index}`),
		`exec1:0:scrape:w:${FOLD_STEP}`,
		'exec1:0:scrape:start:a',
	]);
	// Under a full step more: no fold yet.
	await claimAll(record, FOLD_STEP + 8, 2 * FOLD_STEP + 8);
	const unfolded = rowEntries(table, valuesOf(items));
	await record.fold();
	expect(rowEntries(table, valuesOf(items))).toEqual([
		'exec1:0:scrape:start:a',
		...Array.from({ length: 8 }, (_, index) => `exec1:0:scrape:${2 * FOLD_STEP + index}`),
		`exec1:0:scrape:w:${2 * FOLD_STEP}`,
		'exec1:0:scrape:start:b',
	]);
	expect(unfolded).toContain(`exec1:0:scrape:${FOLD_STEP}`);
	expect(rowEntries(table, valuesOf(items))).not.toContain(`exec1:0:scrape:${FOLD_STEP}`);
	expect(rowEntries(table, valuesOf(items))).toContain(`exec1:0:scrape:${2 * FOLD_STEP}`);
});

test('the last fold: a partial step only when asked, and only once every item settled', async () => {
	const table = new ProcessedDataTable();
	const items = 3 * FOLD_STEP + 4;
	const record = recordOn(table, items);
	await claimAll(record, 0, items - 1);
	await record.fold(true);
	expect(rowEntries(table, valuesOf(items))).toContain(`exec1:0:scrape:w:${3 * FOLD_STEP}`);
	await record.claim(items - 1);
	await record.fold();
	expect(rowEntries(table, valuesOf(items))).not.toContain(`exec1:0:scrape:w:${items}`);
	await record.fold(true);
	const row = rowEntries(table, valuesOf(items));
	expect(row).toEqual([
		'exec1:0:scrape:start:a',
		`exec1:0:scrape:w:${items}`,
		'exec1:0:scrape:start:b',
	]);
	await record.fold(true);
	expect(rowEntries(table, valuesOf(items))).toEqual(row);
});

test('a second attempt finds the watermark among many candidates, leaves no probe behind, and marks itself', async () => {
	const table = new ProcessedDataTable();
	const items = 40 * FOLD_STEP;
	const first = recordOn(table, items);
	await claimAll(first, 0, FOLD_STEP + 2);
	await first.fold();
	const second = recordOn(table, items);
	expect(await second.earlierAttempt()).toBe(true);
	expect(rowEntries(table, valuesOf(items))).toEqual([
		'exec1:0:scrape:start:b',
		'exec1:0:scrape:' + FOLD_STEP,
		'exec1:0:scrape:' + (FOLD_STEP + 1),
		`exec1:0:scrape:w:${FOLD_STEP}`,
		'exec1:0:scrape:start:a',
		'exec1:0:scrape:again',
	]);
	expect(await claimAll(second, 0, FOLD_STEP + 3)).toEqual([
		...Array(FOLD_STEP + 2).fill('claimed-before'),
		'first',
	]);
	expect(second.repeatError(3).message).toBe(
		'An earlier attempt of this execution already handled this item (it sent the request, or ended before sending one), so nothing was sent again [item 3]',
	);
	expect(second.repeatError(FOLD_STEP).message).toBe(
		`Item ${FOLD_STEP}'s run was started before [item ${FOLD_STEP}]`,
	);
	expect(second.repeatError(FOLD_STEP).description).toBe('Find it on the dashboard.');
	expect(second.repeatError(FOLD_STEP).context.itemIndex).toBe(FOLD_STEP);
});

test('a second attempt that finds the start entries but no watermark sends from item 0 on what the claims say', async () => {
	const table = new ProcessedDataTable();
	const first = recordOn(table, 100);
	await claimAll(first, 0, 3);
	const second = recordOn(table, 100);
	expect(await claimAll(second, 0, 4)).toEqual([
		'claimed-before',
		'claimed-before',
		'claimed-before',
		'first',
	]);
	expect(rowEntries(table, valuesOf(100)).filter((name) => name.includes(':w:'))).toEqual([]);
});

test('an attempt that finds it is the first says so, once, and its start entries stay', async () => {
	const table = new ProcessedDataTable();
	const record = recordOn(table, 3);
	expect(await record.earlierAttempt()).toBe(false);
	expect(await record.earlierAttempt()).toBe(false);
	expect(rowEntries(table, valuesOf(3))).toEqual([
		'exec1:0:scrape:start:a',
		'exec1:0:scrape:start:b',
	]);
	expect(await recordOn(table, 3).earlierAttempt()).toBe(true);
});

test('B8: the first attempt, still alive, stops folding once a second attempt marked itself', async () => {
	const table = new ProcessedDataTable();
	const items = 4 * FOLD_STEP;
	const first = recordOn(table, items);
	await claimAll(first, 0, FOLD_STEP + 1);
	await recordOn(table, items).earlierAttempt();
	const before = rowEntries(table, valuesOf(items));
	await first.fold();
	expect(rowEntries(table, valuesOf(items))).toEqual(before);
	await claimAll(first, FOLD_STEP + 1, 3 * FOLD_STEP);
	await first.fold(true);
	expect(rowEntries(table, valuesOf(items)).filter((name) => name.includes(':w:'))).toEqual([]);
});

test('a fold the database refuses loses nothing: the claims stay, and the next fold folds them', async () => {
	const table = new ProcessedDataTable();
	const items = 3 * FOLD_STEP;
	const record = recordOn(table, items);
	await claimAll(record, 0, FOLD_STEP);
	table.failCalls = 1_000;
	await record.fold();
	table.failCalls = 0;
	expect(rowEntries(table, valuesOf(items))).toContain('exec1:0:scrape:0');
	await record.fold();
	expect(rowEntries(table, valuesOf(items))).toEqual([
		'exec1:0:scrape:start:b',
		`exec1:0:scrape:w:${FOLD_STEP}`,
		'exec1:0:scrape:start:a',
	]);
});

test('B4: a claim the database refuses: nothing sent, in words; the next claim tries the start again', async () => {
	const table = new ProcessedDataTable();
	const record = recordOn(table, 100);
	table.failCalls = 1_000;
	const error = await record.claim(3).catch((thrown: Error & { description?: string }) => thrown);
	expect(error).toMatchObject({
		message: "Could not record the request in n8n's database, so it was not sent [item 3]",
		description:
			"Nothing was sent for this item, so nothing was billed. The record guards against a second charge when n8n runs an execution again after a worker restart. n8n's database failed five lock checks in a row",
	});
	expect((error as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(3);
	table.failCalls = 0;
	expect(await record.claim(3)).toBe('first');
	expect(rowEntries(table, valuesOf(100))).toEqual([
		'exec1:0:scrape:start:a',
		'exec1:0:scrape:start:b',
		'exec1:0:scrape:3',
	]);
});

test("a claim written without the lock (the lock row is another node's) is written again once answered; one under the lock is not", async () => {
	const foreign = new ProcessedDataTable();
	const otherNode = { workflow: { id: 'wf-foreign' } } as never;
	await foreign.checkProcessedAndRecord(['item'], 'workflow', otherNode, { mode: 'entries' });
	const unlocked = recordOn(foreign, 3, { workflowId: 'wf-foreign' });
	await unlocked.claim(0);
	const row = 'wf-foreign|n:node1';
	(foreign.rows.get(row)?.data as string[]).splice(0);
	await unlocked.confirm(0);
	expect(rowEntries(foreign, ['exec1:0:scrape:0'], row)).toEqual(['exec1:0:scrape:0']);

	const table = new ProcessedDataTable();
	const locked = recordOn(table, 3);
	await locked.claim(0);
	const writes = table.writes;
	await locked.confirm(0);
	expect(table.writes).toBe(writes);
	table.failCalls = 1_000;
	await expect(unlocked.confirm(0)).resolves.toBeUndefined();
});

test('an item an earlier attempt claimed is claimed-before; the lock row is left as it was found', async () => {
	const table = new ProcessedDataTable();
	await recordOn(table, 2).claim(1);
	expect(await recordOn(table, 2).claim(1)).toBe('claimed-before');
	expect(table.rows.has('wf1|')).toBe(false);
});

test('one context per attempt: the record reads nothing else of n8n', () => {
	const context = nodeContextOn(new ProcessedDataTable()) as IExecuteFunctions & {
		runIndex?: unknown;
	};
	expect(context.runIndex).toBeUndefined();
});

test('where n8n has no row to record against (its helper asserts), a claim is unrecorded and the call is sent', async () => {
	const table = new ProcessedDataTable();
	const record = recordOn(table, 3, {}, (scope) => {
		if (scope === 'node') throw Object.assign(new Error('no service'), { code: 'ERR_ASSERTION' });
	});
	expect(await record.claim(0)).toBe('unrecorded');
});

test('nothing folds where nothing may: no execution, a node run of few items, or before its first claim', async () => {
	const items = FOLD_STEP + 8;
	const unrecordedTable = new ProcessedDataTable();
	const unrecorded = recordOn(unrecordedTable, items, { executionId: '' });
	for (let item = 0; item < items; item++) unrecorded.settle(item);
	await unrecorded.fold(true);
	expect(unrecordedTable.rows.size).toBe(0);

	const smallTable = new ProcessedDataTable();
	const small = recordOn(smallTable, 3);
	await small.earlierAttempt();
	await claimAll(small, 0, 3);
	await small.fold(true);
	expect(rowEntries(smallTable, valuesOf(3))).toEqual([
		'exec1:0:scrape:start:a',
		'exec1:0:scrape:start:b',
		'exec1:0:scrape:0',
		'exec1:0:scrape:1',
		'exec1:0:scrape:2',
	]);

	const unclaimedTable = new ProcessedDataTable();
	const unclaimed = recordOn(unclaimedTable, items);
	for (let item = 0; item < items; item++) unclaimed.settle(item);
	await unclaimed.fold(true);
	expect(unclaimedTable.rows.size).toBe(0);
});
