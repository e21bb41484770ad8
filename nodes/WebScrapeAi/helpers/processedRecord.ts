import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { pause } from '../transport/pause';
import { isUnavailable, LockCancelledError, withProcessedDataLock } from './rowLock';

/**
 * Records in n8n's database that outlive an attempt of an execution: the billed calls of the action
 * node (DispatchRecord) and the deliveries the trigger emitted (runDetails.ts).
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
/** A node run of more items than this folds its claims into one watermark entry per step. */
export const FOLD_STEP = 32;
/** How many watermark candidates a second attempt checks per database call. */
const PROBE_GROUP = 16;

export type Claim =
	/** No earlier attempt of this execution sent this call: send it. */
	| 'first'
	/** An earlier attempt of this execution claimed it: it may have been sent; do not send it. */
	| 'claimed-before'
	/** n8n cannot record here (no saved workflow, no database helper): best effort, send it. */
	| 'unrecorded';

const queues = new Map<string, Promise<unknown>>();

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
interface NodeRow {
	/** Records `values`; returns those that were there already. */
	record(values: string[]): Promise<Set<string>>;
	remove(values: string[]): Promise<void>;
	locked: boolean;
}

/**
 * Runs `task` on this node's processed_data row, serialised in this process and under the lock
 * row; a database error is tried again (3 tries in all), then thrown. 'unrecorded' where n8n cannot
 * record (no saved workflow, no database helper).
 */
async function onNodeRow<T>(
	context: IExecuteFunctions,
	maxEntries: number,
	task: (row: NodeRow) => Promise<T>,
): Promise<T | 'unrecorded'> {
	const workflowId = context.getWorkflow().id;
	if (!workflowId || typeof context.helpers.checkProcessedAndRecord !== 'function')
		return 'unrecorded';
	const options = { mode: 'entries' as const, maxEntries };
	let lastError: unknown;
	for (let attempt = 0; attempt < 3; attempt++) {
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
			// Cancelled while waiting for the lock: no second try.
			if (error instanceof LockCancelledError) break;
			await pause(200 * (attempt + 1));
		}
	}
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
 * ('unrecorded' where n8n cannot record: no saved workflow, no database helper).
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
			const undone = group.flatMap(
				(member, index) => member.undo?.(processedByMember[index]) ?? [],
			);
			if (undone.length > 0) await row.remove(undone);
			return { processedByMember, locked: row.locked };
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

/** What an item that an earlier attempt already sent says, in words for the user. */
export interface RepeatText {
	message: (itemIndex: number) => string;
	description: string;
}

/**
 * The billed calls of one execution's run of this node, recorded in n8n's database.
 *
 * Each call is claimed (`<execution>:<run>:<operation>:<item>`) right before it is first sent. A
 * node run of more than FOLD_STEP items folds its claims as it goes: once every item below a
 * multiple of FOLD_STEP has settled (claimed, or ended without a call), one watermark entry
 * (`…:w:<k>`, "every item below k was handled") replaces their claims, so the row holds at most
 * about FOLD_STEP + Concurrency entries per node run in progress, whatever the batch size, and a
 * second attempt late in a 20,000-item batch still finds every claim. Such a node run also writes a
 * start entry at its first claim: a second attempt that finds it looks for the watermark (a few
 * calls, once), and treats every item below it as sent. Finished node runs leave their watermark
 * (or, for a few items, their claims) until CLAIM_ENTRIES newer entries push them out.
 */
export class DispatchRecord {
	private readonly prefix: string;
	/** A tool call from an agent or an MCP client may run outside any saved execution. */
	private readonly recorded: boolean;
	/** Items whose claim was written under the lock row: no other write can have dropped it. */
	private readonly lockedClaims = new Set<number>();
	/** Items claimed, or ended without a call, in this attempt. */
	private readonly settled = new Set<number>();
	private folds: boolean;
	/** Checks once, before the first claim, whether an earlier attempt ran this node run. */
	private tracksAttempts = false;
	private earlierAttemptFound = false;
	/** Every item below it was handled by this attempt or an earlier one; its entry is in the row. */
	private watermark = 0;
	/** Items below it were handled by an earlier attempt of this execution. */
	private earlierBelow = 0;
	private started?: Promise<void>;
	private folding: Promise<void> = Promise.resolve();
	/** Folds written so far: which start entry the next one writes again. */
	private foldsDone = 0;

	constructor(
		private readonly context: IExecuteFunctions,
		operation: string,
		private readonly repeatText: RepeatText,
		private readonly itemCount = 0,
	) {
		// A node that runs more than once in an execution (a loop) claims per run.
		const runIndex = (context as unknown as { runIndex?: unknown }).runIndex;
		const executionId = context.getExecutionId();
		this.recorded = typeof executionId === 'string' && executionId !== '';
		this.prefix = `${executionId}:${typeof runIndex === 'number' ? runIndex : 0}:${operation}`;
		this.folds = itemCount > FOLD_STEP;
	}

	private claimValue(itemIndex: number): string {
		return `${this.prefix}:${itemIndex}`;
	}

	private watermarkValue(below: number): string {
		return `${this.prefix}:w:${below}`;
	}

	/**
	 * Two start entries, written again in turn at each fold (removed, then recorded at the end of
	 * the row) so that newer node runs never push out both while this one goes on.
	 */
	/**
	 * Written by a second attempt when it finds the start entries: an earlier attempt that is still
	 * alive (a job run again while its first worker lives on) then stops folding, since a fold
	 * removes claims the second attempt has not checked yet. Neither attempt folds from then on
	 * (n8n 1.x runs a stalled job again once by default, QUEUE_WORKER_MAX_STALLED_COUNT=1).
	 */
	private secondAttemptValue(): string {
		return `${this.prefix}:again`;
	}

	private startValues(): [string, string] {
		return [`${this.prefix}:start:a`, `${this.prefix}:start:b`];
	}

	/** The values a watermark can take: multiples of FOLD_STEP, and the item count (all handled). */
	private watermarkCandidates(): number[] {
		const candidates: number[] = [];
		for (let below = FOLD_STEP; below < this.itemCount; below += FOLD_STEP) candidates.push(below);
		candidates.push(this.itemCount);
		return candidates;
	}

	/**
	 * Before the first claim of a folding node run: writes the start entry, and when an earlier
	 * attempt had written it, finds that attempt's watermark (checking candidates from the top,
	 * removing each one the check added) so that the items below it are not sent again.
	 */
	private async start(): Promise<void> {
		const found = await onNodeRow(this.context, CLAIM_ENTRIES, async (row) => {
			const starts = this.startValues();
			const present = await row.record(starts);
			if (!starts.some((value) => present.has(value))) return 0;
			this.earlierAttemptFound = true;
			await row.record([this.secondAttemptValue()]);
			const candidates = this.watermarkCandidates().reverse();
			for (let at = 0; at < candidates.length; at += PROBE_GROUP) {
				const group = candidates.slice(at, at + PROBE_GROUP);
				const values = group.map((below) => this.watermarkValue(below));
				const there = await row.record(values);
				const added = values.filter((value) => !there.has(value));
				if (added.length > 0) await row.remove(added);
				const highest = group.find((below) => there.has(this.watermarkValue(below)));
				if (highest !== undefined) return highest;
			}
			return 0;
		});
		if (found !== 'unrecorded') this.earlierBelow = this.watermark = found;
	}

	/**
	 * Whether an earlier attempt of this execution ran this node run (n8n ran the job again), found
	 * by its start entries before anything is claimed: a budget must count what that attempt may
	 * have spent before this one sends anything. False where n8n cannot record.
	 */
	async earlierAttempt(): Promise<boolean> {
		if (!this.recorded) return false;
		this.tracksAttempts = true;
		await (this.started ??= this.start());
		return this.earlierAttemptFound;
	}

	/** Claims item `itemIndex`'s billed call before it is sent. */
	async claim(itemIndex: number): Promise<Claim> {
		if (!this.recorded) return 'unrecorded';
		let outcome: Recorded | 'unrecorded';
		try {
			if (this.folds || this.tracksAttempts) await (this.started ??= this.start());
			if (itemIndex < this.earlierBelow) {
				this.settle(itemIndex);
				return 'claimed-before';
			}
			const value = this.claimValue(itemIndex);
			outcome = await recordInProcessedData(this.context, [value], CLAIM_ENTRIES);
		} catch (error) {
			this.started = undefined;
			throw new NodeOperationError(
				this.context.getNode(),
				`Could not record the request in n8n's database, so it was not sent [item ${itemIndex}]`,
				{
					itemIndex,
					description: `Nothing was sent for this item, so nothing was billed. The record guards against a second charge when n8n runs an execution again after a worker restart. ${(error as Error).message}`,
				},
			);
		}
		this.settle(itemIndex);
		if (outcome === 'unrecorded') return 'unrecorded';
		if (outcome.locked) this.lockedClaims.add(itemIndex);
		return outcome.processed.has(this.claimValue(itemIndex)) ? 'claimed-before' : 'first';
	}

	/** The item's error when an earlier attempt of this execution claimed its call. */
	repeatError(itemIndex: number): NodeOperationError {
		// Below a watermark an item was handled, but whether it was sent is no longer kept.
		const message =
			itemIndex < this.earlierBelow
				? 'An earlier attempt of this execution already handled this item (it sent the request, or ended before sending one), so nothing was sent again'
				: this.repeatText.message(itemIndex);
		return new NodeOperationError(this.context.getNode(), `${message} [item ${itemIndex}]`, {
			itemIndex,
			description: this.repeatText.description,
		});
	}

	/**
	 * After the call was answered: a claim written without the lock row is written again, in case
	 * another process's write dropped it, so a later restart still finds it. Never fails the item:
	 * the call was sent and answered.
	 */
	async confirm(itemIndex: number): Promise<void> {
		if (!this.recorded || this.lockedClaims.has(itemIndex)) return;
		try {
			await recordInProcessedData(this.context, [this.claimValue(itemIndex)], CLAIM_ENTRIES);
		} catch {
			// The claim was written before the call; this second write only narrows a race.
		}
	}

	/** Item `itemIndex` is done in this attempt, with or without a call (its claim, if any, is in). */
	settle(itemIndex: number): void {
		this.settled.add(itemIndex);
	}

	/**
	 * Folds the claims below the highest step every item under which has settled into one
	 * watermark entry (`final`: also a last partial step, when every item has settled).
	 */
	async fold(final = false): Promise<void> {
		if (!this.recorded || !this.folds || this.started === undefined) return;
		this.folding = this.folding.then(async () => {
			let below = this.watermark;
			while (this.settled.has(below)) below++;
			const target = below === this.itemCount ? below : below - (below % FOLD_STEP);
			if (target <= this.watermark || (!final && target - this.watermark < FOLD_STEP)) return;
			const folded: string[] = [];
			for (let itemIndex = this.watermark; itemIndex < target; itemIndex++)
				folded.push(this.claimValue(itemIndex));
			try {
				const refreshed = this.startValues()[this.foldsDone % 2];
				const again = this.secondAttemptValue();
				const folds = await onNodeRow(this.context, CLAIM_ENTRIES, async (row) => {
					// In this order, a process that dies between two calls leaves the new watermark
					// or the folded claims, and always one start entry: nothing is ever sent twice.
					// The first call also asks whether a second attempt has started, at no extra write.
					const present = await row.record([this.watermarkValue(target), again]);
					if (present.has(again)) {
						await row.remove([this.watermarkValue(target)]);
						return false;
					}
					await row.remove([again, this.watermarkValue(this.watermark), ...folded, refreshed]);
					await row.record([refreshed]);
					return true;
				});
				if (folds === false) {
					this.folds = false;
					return;
				}
				this.watermark = target;
				this.foldsDone++;
			} catch {
				// Nothing is lost: the claims stay in the row, and the next fold tries again.
			}
		});
		await this.folding;
	}
}
