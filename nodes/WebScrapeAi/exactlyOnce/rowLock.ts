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
 * there. A holder whose process died leaves the row behind: a waiter that has seen it held for
 * STALE_AFTER_MS while the database answered it promptly checks that the row is a lock (a later
 * date before the year 1100 is still new to it) and deletes it. Time the database took to answer
 * does not count: when the database stalls, the holder's own write is stalled too, and the holder
 * is alive; taking its lock then would let two processes rewrite the row at once.
 */
const LOCK_MODE = { mode: 'latestDate' as const };
/** What every attempt records: new only to the process that creates the row (holds the lock). */
const LOCK_DATE = '1000-01-01T00:00:00.000Z';
const LOCK_DATE_MS = Date.parse(LOCK_DATE);
/**
 * A holder keeps the lock for one read-and-write (milliseconds): seen held this long, with every
 * check answered within PROMPT_MS, the holder is gone (or its process has been frozen that long).
 */
export const STALE_AFTER_MS = 10_000;
/** A check slower than this says nothing about the holder: the database itself was slow. */
export const PROMPT_MS = 1_000;
/** How long a process records without the lock once the row turned out to be another node's. */
export const NO_LOCK_MEMORY_MS = 10 * 60_000;
/** Lock checks that fail in a row before a try to record fails (onNodeRow tries again). */
export const FAILED_CHECKS_PER_TRY = 5;

/** The execution was cancelled while waiting for the lock: nothing was recorded. */
export class LockCancelledError extends Error {
	constructor() {
		super("The execution was cancelled while waiting to record in n8n's database");
	}
}

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

/** The workflow-scope row is another node's: this process records without the lock for a while. */
function withoutLockFor(context: IExecuteFunctions, workflowId: string, why: string): void {
	noLockUntil.set(workflowId, Date.now() + NO_LOCK_MEMORY_MS);
	context.logger.warn(
		`This workflow's workflow-scope processed_data row ${why}: recording without the lock`,
	);
}

/**
 * The lock was seen held for STALE_AFTER_MS of prompt answers: a probe (a date in the year 1000)
 * tells a dead holder's lock, removed here, from another node's row of real dates ('foreign').
 * 'undecided' when the probe's answer was slow: waiting goes on.
 */
async function probeStaleLock(
	context: IExecuteFunctions,
	workflowId: string,
): Promise<'removed' | 'foreign' | 'undecided'> {
	const probeAsked = Date.now();
	const probe = await attempt(context, probeDate());
	const prompt = Date.now() - probeAsked <= PROMPT_MS;
	if (probe === 'acquired' && prompt) {
		context.logger.warn(
			`Removing this workflow's processed_data lock, held for over ${STALE_AFTER_MS / 1000} s while the database answered (its process probably died)`,
		);
		await release(context);
		return 'removed';
	}
	if (probe === 'held' && prompt) {
		// Dates past the year 1000 + now: real dates, another node's row, never a lock.
		withoutLockFor(context, workflowId, "holds another node's dates");
		return 'foreign';
	}
	return 'undecided';
}

/**
 * Runs `task` while holding this workflow's lock row (`locked` true). Runs it without the lock (the
 * caller's record is then best effort, as it was before the lock) only when the row belongs to
 * another node; throws when the database keeps failing. A lock that stays taken is waited for, however long the
 * database takes, until its holder releases it or it is found stale (above); a cancelled execution
 * stops waiting with LockCancelledError.
 */
export async function withProcessedDataLock<T>(
	context: IExecuteFunctions,
	task: (locked: boolean) => Promise<T>,
): Promise<T> {
	const workflowId = String(context.getWorkflow().id);
	if ((noLockUntil.get(workflowId) ?? 0) > Date.now()) return await task(false);
	const signal = cancelSignalOf(context);
	/** Since when every check found the lock held and was answered promptly. */
	let heldPromptlySince: number | undefined;
	let failures = 0;
	// Short waits: a holder keeps the lock for a few statements, and only one caller per node and
	// process waits (the others are in its group), so polling fast costs little.
	let delay = 2;
	for (;;) {
		const asked = Date.now();
		const outcome = await attempt(context, LOCK_DATE);
		const answered = Date.now();
		if (outcome === 'acquired') {
			try {
				return await task(true);
			} finally {
				await release(context);
			}
		}
		if (outcome === 'unavailable') return await task(false);
		if (outcome === 'foreign') {
			withoutLockFor(context, workflowId, 'belongs to another node');
			return await task(false);
		}
		failures = outcome === 'failed' ? failures + 1 : 0;
		// Never on without the lock when the database fails: the caller's record fails instead (an
		// action item is then not sent; a delivery is not emitted), so nothing runs unprotected.
		if (failures >= FAILED_CHECKS_PER_TRY)
			throw new Error("n8n's database failed five lock checks in a row");
		if (signal?.aborted) throw new LockCancelledError();
		if (outcome === 'held' && answered - asked <= PROMPT_MS) {
			heldPromptlySince ??= asked;
			if (answered - heldPromptlySince >= STALE_AFTER_MS) {
				heldPromptlySince = undefined;
				const stale = await probeStaleLock(context, workflowId);
				if (stale === 'removed') continue;
				if (stale === 'foreign') return await task(false);
			}
		} else {
			// A slow or failed answer: the database, not the holder, may be what took the time.
			heldPromptlySince = undefined;
		}
		// Jittered, so processes that collided do not collide again in step.
		await pause(delay + Math.floor(Math.random() * delay), signal);
		delay = Math.min(25, Math.ceil(delay * 1.5));
	}
}
