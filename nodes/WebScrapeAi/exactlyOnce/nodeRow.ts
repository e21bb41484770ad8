import type { IExecuteFunctions } from 'n8n-workflow';

import { pause } from '../transport/pause';
import { isUnavailable, LockCancelledError, withProcessedDataLock } from './rowLock';

/**
 * Records in n8n's database that outlive an attempt of an execution: the billed calls of the action
 * node (BilledCallRecord) and the deliveries the trigger emitted (runDetails.ts).
 *
 * Why a record in n8n's database: in queue mode n8n 1.x runs a job again from the execution's start
 * data, under the same execution ID, when the worker running it dies or is stopped mid-execution
 * (Bull's stalled-job check), so `execute()` runs again. The API has no idempotency key, so only a
 * record written before the billed call can tell the second attempt that the first one sent it.
 *
 * Why this mechanism: of what n8n gives a node on both release lines, only the deduplication helper
 * (`helpers.checkProcessedAndRecord`, the `processed_data` table) writes to the database at once.
 * Static data is saved when the execution ends; custom data with the execution's progress, after a
 * node completes; data tables are for n8n's own nodes. The helper keeps hashes (membership only) in
 * one row per workflow and node, read and rewritten whole on each call, without a lock. So: our
 * calls are serialised per node in this process and, across processes, by a lock row (rowLock.ts),
 * and what a row holds is kept small, because every call rewrites all of it (and MySQL/MariaDB,
 * which n8n 1.x supports, store it in a TEXT column of 64 KiB).
 */

/**
 * A node's claims row: at most this many hashes (27 bytes each: about 27 KB, rewritten per call).
 * Folding keeps a node run's entries to about FOLD_STEP + Concurrency, so this bounds only how many
 * newer claims of the same node a claim outlives: a run in progress, or a finished one whose
 * execution may still be run again, keeps its record while fewer newer ones were written.
 */
export const CLAIM_ENTRIES = 1_000;
/** The trigger's deliveries row: two entries per delivery, so the last 500 deliveries. */
export const DELIVERY_ENTRIES = 1_000;
/** Tries to record before the record fails, RECORD_RETRY_STEP_MS × the try's number apart. */
export const RECORD_TRIES = 3;
export const RECORD_RETRY_STEP_MS = 200;
const queues = new Map<string, Promise<unknown>>();

/** The n8n release that brought the processed-data helpers (n8n-workflow 1.63). */
export const PROCESSED_DATA_SINCE_N8N = '1.64';

/**
 * This n8n has no processed-data helpers: a billed request or a delivery cannot be recorded, so it
 * is not sent or emitted (unrecorded, n8n's running an execution again could repeat it).
 */
export class NeedsNewerN8nError extends Error {
	constructor(what: string) {
		super(
			`WebScrape AI needs n8n ${PROCESSED_DATA_SINCE_N8N} or later to record ${what} in n8n's database, and this n8n cannot (it has no processed-data helpers)`,
		);
	}
}

/** Runs `task` after each earlier call of this node in this process: no lost updates among them. */
async function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
	const previous = queues.get(key) ?? Promise.resolve();
	const next = previous.then(task, task);
	const settled = next.catch(() => undefined);
	queues.set(key, settled);
	try {
		return await next;
	} finally {
		if (queues.get(key) === settled) queues.delete(key);
	}
}

/** Which values were there already, and whether they were written under the lock row. */
export interface Recorded {
	processed: Set<string>;
	locked: boolean;
}

/** The helper calls a task makes on this node's row, while holding the lock. */
export interface NodeRow {
	/** Records `values`; returns those that were there already. */
	record(values: string[]): Promise<Set<string>>;
	remove(values: string[]): Promise<void>;
	locked: boolean;
}

/**
 * Runs `task` on this node's processed_data row, serialised in this process and under the lock
 * row; a database error is tried again (RECORD_TRIES in all), then thrown. 'unrecorded' where there is
 * nothing to record against (no saved workflow, or a database without the table); on an n8n
 * without the helpers (before 1.64), NeedsNewerN8nError: never a silent send without a record.
 */
export async function onNodeRow<T>(
	context: IExecuteFunctions,
	maxEntries: number,
	task: (row: NodeRow) => Promise<T>,
): Promise<T | 'unrecorded'> {
	const workflowId = context.getWorkflow().id;
	if (!workflowId) return 'unrecorded';
	if (typeof context.helpers.checkProcessedAndRecord !== 'function')
		throw new NeedsNewerN8nError(
			context.getNode().type.endsWith('Trigger')
				? 'the deliveries it emitted'
				: 'its billed requests',
		);
	const options = { mode: 'entries' as const, maxEntries };
	let lastError: unknown;
	for (let attempt = 0; attempt < RECORD_TRIES; attempt++) {
		try {
			return await serialised(
				`${workflowId}:${context.getNode().id}`,
				async () =>
					await withProcessedDataLock(context, async (locked) => {
						const row: NodeRow = {
							locked,
							record: async (values) => {
								const outcome = await context.helpers.checkProcessedAndRecord(
									values,
									'node',
									options,
								);
								return new Set(outcome.processed.map(String));
							},
							remove: async (values) =>
								await context.helpers.removeProcessed(values, 'node', options),
						};
						return await task(row);
					}),
			);
		} catch (error) {
			if (isUnavailable(error)) return 'unrecorded';
			lastError = error;
			// Cancelled while waiting for the lock: no second try, and the group's other callers
			// (other executions) try again on their own (recordInProcessedData).
			if (error instanceof LockCancelledError) break;
			if (attempt + 1 < RECORD_TRIES) await pause(RECORD_RETRY_STEP_MS * (attempt + 1));
		}
	}
	if (lastError instanceof LockCancelledError) throw new LockCancelledError();
	// n8n's database could not be written after retries.
	throw new Error((lastError as Error)?.message ?? String(lastError));
}

/** One caller's values in a group recorded by one helper call. */
interface GroupMember {
	context: IExecuteFunctions;
	values: string[];
	/** Which of its values to take out again, once it knows which were there (same lock hold). */
	undo?: (processed: Set<string>) => string[];
	resolve: (outcome: Recorded | 'unrecorded') => void;
	reject: (error: unknown) => void;
}

/** Per node row, the callers waiting for their turn: the next helper call records all of them. */
const openGroups = new Map<string, GroupMember[]>();

/**
 * Records `values` in this node's processed_data row and reports which were there already
 * ('unrecorded' where there is nothing to record against: see onNodeRow).
 *
 * Calls that arrive while an earlier one of the same node in this process is still in progress are
 * recorded together, by one helper call under one lock (group commit): n8n rewrites the whole row
 * per call, so a burst of N deliveries on a worker running 5 executions at once costs about N / 5
 * row writes instead of N, and the lock is taken that much less often. A value two members of a
 * group share counts as already there for the later one (n8n's helper would call both new).
 */
export async function recordInProcessedData(
	context: IExecuteFunctions,
	values: string[],
	maxEntries = DELIVERY_ENTRIES,
	undo?: GroupMember['undo'],
): Promise<Recorded | 'unrecorded'> {
	// Where n8n cannot record, onNodeRow answers 'unrecorded' for the whole group.
	const key = `${context.getWorkflow().id}:${context.getNode().id}:${maxEntries}`;
	return await new Promise<Recorded | 'unrecorded'>((resolve, reject) => {
		const open = openGroups.get(key);
		if (open) {
			open.push({ context, values, undo, resolve, reject });
			return;
		}
		const group: GroupMember[] = [{ context, values, undo, resolve, reject }];
		openGroups.set(key, group);
		// The group closes when its turn comes: later callers start the next one.
		const close = () => {
			if (openGroups.get(key) === group) openGroups.delete(key);
		};
		onNodeRow(context, maxEntries, async (row) => {
			close();
			return await recordGroup(context, group, row);
		}).then(
			(outcome) => {
				close();
				group.forEach((member, index) =>
					member.resolve(
						outcome === 'unrecorded'
							? 'unrecorded'
							: { processed: outcome.processedByMember[index], locked: outcome.locked },
					),
				);
			},
			(error: unknown) => {
				close();
				const [first, ...others] = group;
				first.reject(error);
				for (const member of others) {
					// The group waited with the first caller's execution, which was cancelled: not theirs.
					if (error instanceof LockCancelledError)
						recordInProcessedData(member.context, member.values, maxEntries, member.undo).then(
							member.resolve,
							member.reject,
						);
					else member.reject(error);
				}
			},
		);
	});
}

/**
 * One write for a whole group: the union of its values recorded, each member told which of its
 * values were there (or recorded by a member before it), and what members undo taken out again.
 */
async function recordGroup(
	context: IExecuteFunctions,
	group: GroupMember[],
	row: NodeRow,
): Promise<{ processedByMember: Array<Set<string>>; locked: boolean }> {
	context.logger.debug(
		`${context.getNode().name}: recording ${group.length} callers' values in one write`,
	);
	const union = [...new Set(group.flatMap((member) => member.values))];
	const present = await row.record(union);
	const earlier = new Set<string>();
	const processedByMember = group.map((member) => {
		const processed = new Set(
			member.values.filter((value) => present.has(value) || earlier.has(value)),
		);
		for (const value of member.values) earlier.add(value);
		return processed;
	});
	const undone = group.flatMap((member, index) => member.undo?.(processedByMember[index]) ?? []);
	if (undone.length > 0) await row.remove(undone);
	return { processedByMember, locked: row.locked };
}
