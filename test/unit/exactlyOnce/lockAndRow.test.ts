/**
 * exactlyOnce/rowLock.ts and nodeRow.ts on the processed_data model, with a clock the test moves:
 * a dead holder's lock removed after 10 s of prompt answers (L4), never after slow ones (L3),
 * another node's workflow-scope row left alone (L6), a cancelled wait, the tries of a record, and
 * group commit (D4). The clock advances only when the code reads it, so 10 s pass in milliseconds.
 */
import type { IExecuteFunctions } from 'n8n-workflow';

import {
	CLAIM_ENTRIES,
	onNodeRow,
	recordInProcessedData,
	RECORD_TRIES,
} from '../../../nodes/WebScrapeAi/exactlyOnce/nodeRow';
import {
	LockCancelledError,
	STALE_AFTER_MS,
	withProcessedDataLock,
} from '../../../nodes/WebScrapeAi/exactlyOnce/rowLock';
import { nodeContextOn, ProcessedDataTable } from '../../harness/processedData';
import { delay } from '../../harness/host';

const LOCK_DATE = '1000-01-01T00:00:00.000Z';
const LATEST = { mode: 'latestDate' as const };

/** A clock that moves `step` ms each time it is read, and `jump` when the test says so. */
function virtualClock(step = 20) {
	let now = Date.UTC(2026, 11, 7);
	const spy = jest.spyOn(Date, 'now').mockImplementation(() => (now += step));
	return { jump: (ms: number) => (now += ms), restore: () => spy.mockRestore() };
}

interface Probe {
	context: IExecuteFunctions;
	warnings: string[];
	debug: string[];
	cancel: AbortController;
}

function probeContext(
	table: ProcessedDataTable,
	workflowId: string,
	before: (scope: 'node' | 'workflow') => void = () => {},
): Probe {
	const warnings: string[] = [];
	const debug: string[] = [];
	const cancel = new AbortController();
	const context = nodeContextOn(table, before, { workflowId }) as IExecuteFunctions & {
		getExecutionCancelSignal: () => AbortSignal;
	};
	context.getExecutionCancelSignal = () => cancel.signal;
	(context as unknown as { logger: object }).logger = {
		debug: (text: string) => debug.push(text),
		info() {},
		warn: (text: string) => warnings.push(text),
		error() {},
	};
	return { context, warnings, debug, cancel };
}

async function seedLockRow(
	table: ProcessedDataTable,
	workflowId: string,
	value: string,
	mode = LATEST,
) {
	await table.checkProcessedAndRecord(
		[value],
		'workflow',
		{ workflow: { id: workflowId } } as never,
		mode,
	);
}

let clock: ReturnType<typeof virtualClock> | undefined;
afterEach(() => {
	clock?.restore();
	clock = undefined;
});

test('L4: a lock left by a dead holder is removed after 10 s of prompt answers; the task then runs under the lock, which it leaves free', async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-dead', LOCK_DATE);
	clock = virtualClock();
	const started = Date.now();
	const probe = probeContext(table, 'wf-dead');
	let waited = 0;
	const locked = await withProcessedDataLock(probe.context, async (held) => {
		waited = Date.now() - started;
		expect(table.rows.has('wf-dead|')).toBe(true);
		return held;
	});
	expect(locked).toBe(true);
	expect(waited).toBeGreaterThanOrEqual(STALE_AFTER_MS);
	expect(waited).toBeLessThan(STALE_AFTER_MS + 2_000);
	expect(probe.warnings).toEqual([
		"Removing this workflow's processed_data lock, held for over 10 s while the database answered (its process probably died)",
	]);
	expect(table.rows.has('wf-dead|')).toBe(false);
});

test('L3: a holder whose database answers slowly keeps its lock, however long; the waiter goes once it is released', async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-slow', LOCK_DATE);
	clock = virtualClock();
	let checks = 0;
	const probe = probeContext(table, 'wf-slow', (scope) => {
		if (scope !== 'workflow') return;
		checks++;
		// Every answer takes 1.5 s; after 30 of them (45 s) the holder releases its lock.
		clock?.jump(1_500);
		if (checks === 30) table.rows.delete('wf-slow|');
	});
	expect(await withProcessedDataLock(probe.context, async (held) => held)).toBe(true);
	expect(checks).toBeGreaterThanOrEqual(31);
	expect(probe.warnings).toEqual([]);
});

test('L3: a slow answer in the middle starts the 10 s again', async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-mixed', LOCK_DATE);
	clock = virtualClock();
	let checks = 0;
	let slowAt = 0;
	const began = Date.now();
	const probe = probeContext(table, 'wf-mixed', (scope) => {
		if (scope !== 'workflow' || ++checks !== 50) return;
		slowAt = Date.now() - began;
		clock?.jump(1_500);
	});
	let at = 0;
	await withProcessedDataLock(probe.context, async () => (at = Date.now() - began));
	expect(slowAt).toBeGreaterThan(2_000);
	// Taken 10 s after the slow check, not 10 s after the first one.
	expect(at).toBeGreaterThanOrEqual(slowAt + 1_500 + STALE_AFTER_MS);
	expect(at).toBeLessThan(slowAt + 1_500 + STALE_AFTER_MS + 2_000);
});

test("L6: a workflow-scope row of real dates (another node's) is never changed; this process records without the lock for 10 minutes", async () => {
	const table = new ProcessedDataTable();
	const realDate = '2026-12-01T00:00:00.000Z';
	await seedLockRow(table, 'wf-dates', realDate);
	clock = virtualClock();
	const probe = probeContext(table, 'wf-dates');
	expect(await withProcessedDataLock(probe.context, async (held) => held)).toBe(false);
	expect(probe.warnings).toEqual([
		"This workflow's workflow-scope processed_data row holds another node's dates: recording without the lock",
	]);
	expect(table.rows.get('wf-dates|')).toEqual({ mode: 'latestDate', data: realDate });
	const writes = table.writes;
	// The README's 10 minutes, written out: the test holds the constant to it.
	clock.jump(10 * 60_000 - 1_000);
	expect(await withProcessedDataLock(probe.context, async (held) => held)).toBe(false);
	expect(table.writes).toBe(writes);
	expect(probe.warnings).toHaveLength(1);
	clock.jump(2_000);
	table.rows.delete('wf-dates|');
	expect(await withProcessedDataLock(probe.context, async (held) => held)).toBe(true);
});

test("L6: a workflow-scope row kept in another mode (another node's list): n8n refuses our mode, and it is left as it was", async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-list', 'an item', { mode: 'entries' } as never);
	const row = table.rows.get('wf-list|');
	const probe = probeContext(table, 'wf-list');
	expect(await withProcessedDataLock(probe.context, async (held) => held)).toBe(false);
	expect(probe.warnings).toEqual([
		"This workflow's workflow-scope processed_data row belongs to another node: recording without the lock",
	]);
	expect(table.rows.get('wf-list|')).toEqual(row);
});

test('a lock check n8n cannot make (no workflow ID, no service): the task runs without the lock; a record is then unrecorded', async () => {
	const table = new ProcessedDataTable();
	const unavailable = () => {
		throw Object.assign(new Error('no workflow'), { code: 'ERR_ASSERTION' });
	};
	const lockOnly = probeContext(table, 'wf-none', (scope) => scope === 'workflow' && unavailable());
	expect(await withProcessedDataLock(lockOnly.context, async (held) => held)).toBe(false);
	const everything = probeContext(table, 'wf-none2', unavailable);
	expect(
		await onNodeRow(everything.context, CLAIM_ENTRIES, async (row) => await row.record(['v'])),
	).toBe('unrecorded');
});

test('a cancelled execution stops waiting for the lock, in words, and is not tried again', async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-cancel', LOCK_DATE);
	const probe = probeContext(table, 'wf-cancel');
	let tries = 0;
	void delay(30).then(() => probe.cancel.abort());
	const error = await onNodeRow(probe.context, CLAIM_ENTRIES, async () => {
		tries++;
	}).catch((thrown: Error) => thrown);
	expect((error as Error).message).toBe(
		"The execution was cancelled while waiting to record in n8n's database",
	);
	expect(tries).toBe(0);
	expect(new LockCancelledError()).toBeInstanceOf(Error);
});

test(`a record that fails is tried ${RECORD_TRIES} times in all, then its error is thrown (also one that is not an Error)`, async () => {
	const table = new ProcessedDataTable();
	const probe = probeContext(table, 'wf-tries');
	let tries = 0;
	const began = Date.now();
	await expect(
		onNodeRow(probe.context, CLAIM_ENTRIES, async () => {
			tries++;
			throw 'the row is gone';
		}),
	).rejects.toThrow('the row is gone');
	expect(tries).toBe(RECORD_TRIES);
	// 200 ms, then 400 ms between the tries.
	expect(Date.now() - began).toBeGreaterThanOrEqual(550);
	let third = 0;
	expect(
		await onNodeRow(probe.context, CLAIM_ENTRIES, async () => {
			if (++third < RECORD_TRIES) throw new Error('busy');
			return 'recorded';
		}),
	).toBe('recorded');
});

test('D4: callers of one node waiting in one process are recorded by one write; a value two share counts as there for the later one; an undo takes values out again', async () => {
	const table = new ProcessedDataTable();
	const probe = probeContext(table, 'wf-group');
	const outcomes = await Promise.all([
		recordInProcessedData(probe.context, ['a'], 10),
		recordInProcessedData(probe.context, ['b', 'c'], 10),
		recordInProcessedData(probe.context, ['c'], 10, (processed) =>
			processed.has('c') ? ['c'] : [],
		),
		recordInProcessedData(probe.context, ['d'], 10, () => ['d']),
	]);
	expect(outcomes.map((outcome) => outcome !== 'unrecorded' && [...outcome.processed])).toEqual([
		[],
		[],
		['c'],
		[],
	]);
	expect(outcomes.every((outcome) => outcome !== 'unrecorded' && outcome.locked)).toBe(true);
	expect(probe.debug).toEqual(["WebScrape AI: recording 4 callers' values in one write"]);
	expect(table.rows.get('wf-group|n:node1')?.data).toEqual(['a', 'b'].map(ProcessedDataTable.hash));
	// A caller that comes while a group is being written waits for the next group.
	const next = recordInProcessedData(probe.context, ['e'], 10);
	const after = recordInProcessedData(probe.context, ['f'], 10);
	await Promise.all([next, after]);
	expect(probe.debug.slice(1)).toEqual(["WebScrape AI: recording 2 callers' values in one write"]);
});

test('D4: two nodes, or two row caps, never share a group or a row', async () => {
	const table = new ProcessedDataTable();
	const one = probeContext(table, 'wf-two');
	const other = nodeContextOn(table, undefined, { workflowId: 'wf-two', nodeId: 'node2' });
	await Promise.all([
		recordInProcessedData(one.context, ['x'], 10),
		recordInProcessedData(one.context, ['y'], 10),
		recordInProcessedData(other, ['w'], 10),
		recordInProcessedData(one.context, ['z'], 20),
	]);
	expect(table.rows.get('wf-two|n:node1')?.data).toEqual(
		['x', 'y', 'z'].map(ProcessedDataTable.hash),
	);
	expect(table.rows.get('wf-two|n:node2')?.data).toEqual(['w'].map(ProcessedDataTable.hash));
	expect(one.debug).toEqual([
		"WebScrape AI: recording 2 callers' values in one write",
		"WebScrape AI: recording 1 callers' values in one write",
	]);
});

test('a workflow never saved records nothing', async () => {
	const table = new ProcessedDataTable();
	const context = nodeContextOn(table) as IExecuteFunctions;
	(context as unknown as { getWorkflow: () => object }).getWorkflow = () => ({ id: undefined });
	expect(await recordInProcessedData(context, ['a'])).toBe('unrecorded');
	expect(table.rows.size).toBe(0);
});

test('the lock is released even when the database refuses the first two deletes; a third refusal leaves it to go stale', async () => {
	const table = new ProcessedDataTable();
	let refusals = 2;
	const context = nodeContextOn(table, undefined, {
		workflowId: 'wf-release',
	}) as IExecuteFunctions;
	const clear = context.helpers.clearAllProcessedItems.bind(context.helpers);
	context.helpers.clearAllProcessedItems = async (...args: Parameters<typeof clear>) => {
		if (refusals-- > 0) throw new Error('busy');
		return await clear(...args);
	};
	await withProcessedDataLock(context, async () => undefined);
	expect(table.rows.has('wf-release|')).toBe(false);
	refusals = 3;
	await withProcessedDataLock(context, async () => undefined);
	expect(table.rows.has('wf-release|')).toBe(true);
});

test("a node's calls in one process never overlap, however many wait behind each other, even without the lock", async () => {
	const table = new ProcessedDataTable();
	// Another node's list in the workflow scope: no lock row, only the per-process order.
	await seedLockRow(table, 'wf-serial', 'an item', { mode: 'entries' } as never);
	const probe = probeContext(table, 'wf-serial');
	let running = 0;
	let most = 0;
	const call = async () =>
		await onNodeRow(probe.context, CLAIM_ENTRIES, async () => {
			most = Math.max(most, ++running);
			await delay(5);
			running--;
		});
	const first = call();
	const second = call();
	await first;
	// The third arrives while the second runs: it must wait for it.
	const third = call();
	await Promise.all([second, third]);
	expect(most).toBe(1);
});

test('L5: lock checks that fail with no error at all count as failures too', async () => {
	const table = new ProcessedDataTable();
	const probe = probeContext(table, 'wf-nothing', (scope) => {
		// A helper that throws no error object at all.
		if (scope === 'workflow') throw undefined;
	});
	await expect(withProcessedDataLock(probe.context, async () => true)).rejects.toThrow(
		"n8n's database failed five lock checks in a row",
	);
});

/** Wraps the lock row's helper: `onProbe` runs for each probe (a date that is not the lock's). */
function onProbes(context: IExecuteFunctions, onProbe: (count: number) => void): void {
	const helpers = context.helpers;
	const check = helpers.checkProcessedAndRecord.bind(helpers);
	let probes = 0;
	helpers.checkProcessedAndRecord = async (items, scope, options) => {
		if (scope === 'workflow' && String(items[0]) !== LOCK_DATE) onProbe(++probes);
		return await check(items, scope, options);
	};
}

test('L4: a probe answered slowly says nothing: the lock is kept another 10 s of prompt answers, then removed', async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-slowprobe', LOCK_DATE);
	clock = virtualClock();
	const began = Date.now();
	const probe = probeContext(table, 'wf-slowprobe');
	onProbes(probe.context, (count) => count === 1 && clock?.jump(1_500));
	let at = 0;
	expect(
		await withProcessedDataLock(probe.context, async (held) => {
			at = Date.now() - began;
			return held;
		}),
	).toBe(true);
	expect(at).toBeGreaterThanOrEqual(2 * STALE_AFTER_MS + 1_500);
	expect(probe.warnings).toHaveLength(1);
});

test("L4: a probe that fails says nothing either: never taken for another node's row", async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-failprobe', LOCK_DATE);
	clock = virtualClock();
	const probe = probeContext(table, 'wf-failprobe');
	onProbes(probe.context, (count) => {
		if (count === 1) throw new Error('Connection terminated unexpectedly');
	});
	expect(await withProcessedDataLock(probe.context, async (held) => held)).toBe(true);
	expect(probe.warnings).toEqual([
		"Removing this workflow's processed_data lock, held for over 10 s while the database answered (its process probably died)",
	]);
});

test('L3: a database that fails every third check never makes a lock stale; the waiter goes once it is released', async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-flaky', LOCK_DATE);
	clock = virtualClock(100);
	let checks = 0;
	const probe = probeContext(table, 'wf-flaky', (scope) => {
		if (scope !== 'workflow') return;
		checks++;
		// About 30 s of checks, every third failed, then the holder releases its lock.
		if (checks === 100) table.rows.delete('wf-flaky|');
		if (checks % 3 === 0 && checks < 100) throw new Error('Connection terminated unexpectedly');
	});
	expect(await withProcessedDataLock(probe.context, async (held) => held)).toBe(true);
	expect(probe.warnings).toEqual([]);
});

test("a group whose first caller's execution was cancelled while waiting: the others are recorded on their own", async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-groupcancel', LOCK_DATE);
	const first = probeContext(table, 'wf-groupcancel');
	const other = probeContext(table, 'wf-groupcancel');
	const cancelled = recordInProcessedData(first.context, ['a'], 10);
	const recorded = recordInProcessedData(other.context, ['b'], 10);
	await delay(20);
	first.cancel.abort();
	await expect(cancelled).rejects.toThrow(
		"The execution was cancelled while waiting to record in n8n's database",
	);
	table.rows.delete('wf-groupcancel|');
	const outcome = await recorded;
	expect(outcome !== 'unrecorded' && outcome.locked).toBe(true);
	expect(table.rows.get('wf-groupcancel|n:node1')?.data).toEqual([ProcessedDataTable.hash('b')]);
});

test('a cancelled wait is not tried again: no lock check after the cancel is seen', async () => {
	const table = new ProcessedDataTable();
	await seedLockRow(table, 'wf-cancel2', LOCK_DATE);
	let afterCancel = 0;
	const probe = probeContext(table, 'wf-cancel2', (scope) => {
		if (scope === 'workflow' && probe.cancel.signal.aborted) afterCancel++;
	});
	void delay(20).then(() => probe.cancel.abort());
	await expect(onNodeRow(probe.context, CLAIM_ENTRIES, async () => 'never')).rejects.toThrow(
		LockCancelledError,
	);
	expect(afterCancel).toBeLessThanOrEqual(1);
});
