import type { IExecuteFunctions } from 'n8n-workflow';

import { cancelSignalOf } from '../transport';
import { pause } from '../transport/pause';

/**
 * A lock shared by all n8n processes around each read-and-write of our nodes' processed_data rows.
 *
 * n8n's deduplication helper reads a row and writes it back whole with no lock, so two processes
 * recording at the same moment can each drop the other's value. The one atomic step it has: a row
 * that does not exist yet is inserted, and (workflowId, context) is the table's primary key, so of
 * two processes creating the same row at once exactly one succeeds (the other gets a database error
 * or, reading a moment later, finds the row). The lock is that row for the workflow scope (context
 * '', one per workflow): whoever creates it holds the lock; the holder deletes it when done.
 *
 * The row is kept in the "latestDate" mode with dates in the year 1000, so it is never taken for
 * another node's list: a Remove Duplicates node set to Scope: Workflow in the same workflow keeps
 * items (n8n then refuses our mode before writing anything) or real dates (which our dates never
 * pass); this helper then records without the lock, as before it (best effort), and changes nothing
 * there. A holder whose process died leaves the row behind: a waiter that has waited STALE_AFTER_MS
 * checks that the row is a lock (a later date before the year 1100 is still new to it), deletes it.
 */
const LOCK_MODE = { mode: 'latestDate' as const };
/** What every attempt records: new only to the process that creates the row (holds the lock). */
const LOCK_DATE = '1000-01-01T00:00:00.000Z';
const LOCK_DATE_MS = Date.parse(LOCK_DATE);
/** A holder keeps the lock for one read-and-write (milliseconds): this is far past that. */
export const STALE_AFTER_MS = 5_000;
/** A row that stays longer is another node's (or cannot be removed): record without the lock. */
const GIVE_UP_AFTER_MS = 15_000;
/** How long a process then records without the lock before it tries the row again. */
const NO_LOCK_MEMORY_MS = 10 * 60_000;

const noLockUntil = new Map<string, number>();

type Attempt = 'acquired' | 'held' | 'foreign' | 'unavailable' | 'failed';

/** The assertion n8n's helper throws without a workflow ID or an initialised service. */
export function isUnavailable(error: unknown): boolean {
	return (error as { code?: unknown })?.code === 'ERR_ASSERTION';
}

/**
 * The database refused a second row with the same key (Postgres, SQLite, MySQL/MariaDB wording):
 * another process created the lock row between this one's read and its insert, so holds the lock.
 */
function isDuplicateKey(error: unknown): boolean {
	return /duplicate key|duplicate entry|unique constraint|SQLITE_CONSTRAINT/i.test(
		(error as Error)?.message ?? '',
	);
}

function isForeignMode(error: unknown): boolean {
	// n8n's DeduplicationError when the row was saved in another mode (by another node).
	return /incompatible setting/i.test((error as Error)?.message ?? '');
}

async function attempt(context: IExecuteFunctions, value: string): Promise<Attempt> {
	try {
		const outcome = await context.helpers.checkProcessedAndRecord([value], 'workflow', LOCK_MODE);
		return outcome.new.map(String).includes(value) ? 'acquired' : 'held';
	} catch (error) {
		if (isUnavailable(error)) return 'unavailable';
		if (isDuplicateKey(error)) return 'held';
		return isForeignMode(error) ? 'foreign' : 'failed';
	}
}

/** A date (year 1000 + now) past those of earlier checks: new to a lock row, not to real dates. */
function probeDate(): string {
	return new Date(LOCK_DATE_MS + Date.now()).toISOString();
}

async function release(context: IExecuteFunctions): Promise<void> {
	for (let tries = 0; tries < 3; tries++) {
		try {
			await context.helpers.clearAllProcessedItems('workflow', LOCK_MODE);
			return;
		} catch {
			// Left behind, the row is removed by a waiter after STALE_AFTER_MS.
			await pause(50 * (tries + 1));
		}
	}
}

/**
 * Runs `task` while holding this workflow's lock row (`locked` true). Runs it without the lock (the
 * caller's record is then best effort, as it was before the lock) when the row belongs to another
 * node, the database keeps failing, the wait passes GIVE_UP_AFTER_MS or the execution is cancelled.
 */
export async function withProcessedDataLock<T>(
	context: IExecuteFunctions,
	task: (locked: boolean) => Promise<T>,
): Promise<T> {
	const workflowId = String(context.getWorkflow().id);
	if ((noLockUntil.get(workflowId) ?? 0) > Date.now()) return await task(false);
	const signal = cancelSignalOf(context);
	const started = Date.now();
	let checkedStale = false;
	let failures = 0;
	let delay = 5;
	for (;;) {
		const outcome = await attempt(context, LOCK_DATE);
		if (outcome === 'acquired') {
			try {
				return await task(true);
			} finally {
				await release(context);
			}
		}
		if (outcome === 'unavailable') return await task(false);
		const waited = Date.now() - started;
		failures = outcome === 'failed' ? failures + 1 : 0;
		if (outcome === 'foreign' || waited >= GIVE_UP_AFTER_MS) {
			noLockUntil.set(workflowId, Date.now() + NO_LOCK_MEMORY_MS);
			context.logger.warn(
				outcome === 'foreign'
					? "This workflow's workflow-scope processed_data row belongs to another node: recording without the lock"
					: `This workflow's processed_data lock stayed taken for ${waited} ms: recording without it`,
			);
			return await task(false);
		}
		if (failures >= 5 || signal?.aborted) return await task(false);
		if (outcome === 'held' && !checkedStale && waited >= STALE_AFTER_MS) {
			checkedStale = true;
			if ((await attempt(context, probeDate())) === 'acquired') {
				context.logger.warn(
					`Removing this workflow's processed_data lock, taken for over ${STALE_AFTER_MS / 1000} s (its process probably died)`,
				);
				await release(context);
				continue;
			}
		}
		// Jittered, so processes that collided do not collide again in step.
		await pause(delay + Math.floor(Math.random() * delay), signal);
		delay = Math.min(100, Math.ceil(delay * 1.5));
	}
}
