import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { pause } from '../transport/pause';
import { isUnavailable, withProcessedDataLock } from './rowLock';

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
 * one row per workflow and node, rewritten whole on each call without a lock. So: our calls are
 * serialised per node in this process and, across processes, by a lock row (rowLock.ts); a claim
 * written without the lock is written again once the call was answered; the row keeps the newest
 * MAX_ENTRIES claims.
 */
const MAX_ENTRIES = 10_000;
const DEDUP_OPTIONS = { mode: 'entries' as const, maxEntries: MAX_ENTRIES };

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

/**
 * Records `values` in this node's processed_data row and reports which were there already
 * ('unrecorded' where n8n cannot record: no saved workflow, no database helper).
 */
export async function recordInProcessedData(
	context: IExecuteFunctions,
	values: string[],
): Promise<Recorded | 'unrecorded'> {
	const workflowId = context.getWorkflow().id;
	if (!workflowId || typeof context.helpers.checkProcessedAndRecord !== 'function')
		return 'unrecorded';
	let lastError: unknown;
	// A database error, or (when recording without the lock) two processes creating the node's row
	// at once, where one insert fails and the next try updates: tried again.
	for (let attempt = 0; attempt < 3; attempt++) {
		try {
			return await serialised(
				`${workflowId}:${context.getNode().id}`,
				async () =>
					await withProcessedDataLock(context, async (locked) => {
						const outcome = await context.helpers.checkProcessedAndRecord(
							values,
							'node',
							DEDUP_OPTIONS,
						);
						return { processed: new Set(outcome.processed.map(String)), locked };
					}),
			);
		} catch (error) {
			if (isUnavailable(error)) return 'unrecorded';
			lastError = error;
			await pause(200 * (attempt + 1));
		}
	}
	// n8n's database could not be written after retries.
	throw new Error((lastError as Error)?.message ?? String(lastError));
}

/** What an item that an earlier attempt already sent says, in words for the user. */
export interface RepeatText {
	message: (itemIndex: number) => string;
	description: string;
}

/** The billed calls of one execution's run of this node, recorded in n8n's database. */
export class DispatchRecord {
	private readonly prefix: string;
	/** A tool call from an agent or an MCP client may run outside any saved execution. */
	private readonly recorded: boolean;
	/** Items whose claim was written under the lock row: no other write can have dropped it. */
	private readonly lockedClaims = new Set<number>();

	constructor(
		private readonly context: IExecuteFunctions,
		operation: string,
		private readonly repeatText: RepeatText,
	) {
		// A node that runs more than once in an execution (a loop) claims per run.
		const runIndex = (context as unknown as { runIndex?: unknown }).runIndex;
		const executionId = context.getExecutionId();
		this.recorded = typeof executionId === 'string' && executionId !== '';
		this.prefix = `${executionId}:${typeof runIndex === 'number' ? runIndex : 0}:${operation}`;
	}

	/** Claims item `itemIndex`'s billed call before it is sent. */
	async claim(itemIndex: number): Promise<Claim> {
		if (!this.recorded) return 'unrecorded';
		const value = `${this.prefix}:${itemIndex}`;
		let outcome;
		try {
			outcome = await recordInProcessedData(this.context, [value]);
		} catch (error) {
			throw new NodeOperationError(
				this.context.getNode(),
				`Could not record the request in n8n's database, so it was not sent [item ${itemIndex}]`,
				{
					itemIndex,
					description: `Nothing was sent for this item, so nothing was billed. The record guards against a second charge when n8n runs an execution again after a worker restart. ${(error as Error).message}`,
				},
			);
		}
		if (outcome === 'unrecorded') return 'unrecorded';
		if (outcome.locked) this.lockedClaims.add(itemIndex);
		return outcome.processed.has(value) ? 'claimed-before' : 'first';
	}

	/** Claims the item's call, or throws the item's error when an earlier attempt claimed it. */
	async claimOrThrow(itemIndex: number): Promise<void> {
		if ((await this.claim(itemIndex)) !== 'claimed-before') return;
		throw new NodeOperationError(
			this.context.getNode(),
			`${this.repeatText.message(itemIndex)} [item ${itemIndex}]`,
			{ itemIndex, description: this.repeatText.description },
		);
	}

	/**
	 * After the call was answered: a claim written without the lock row is written again, in case
	 * another process's write dropped it, so a later restart still finds it. Never fails the item:
	 * the call was sent and answered.
	 */
	async confirm(itemIndex: number): Promise<void> {
		if (!this.recorded || this.lockedClaims.has(itemIndex)) return;
		try {
			await recordInProcessedData(this.context, [`${this.prefix}:${itemIndex}`]);
		} catch {
			// The claim was written before the call; this second write only narrows a race.
		}
	}
}
