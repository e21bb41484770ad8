import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { CLAIM_ENTRIES, NeedsNewerN8nError, onNodeRow, recordInProcessedData } from './nodeRow';
import type { Recorded } from './nodeRow';

// The action node's record of its billed calls (claim, confirm, fold, an earlier attempt), kept in
// its node row (nodeRow.ts). Its values are a contract with executions already running: a second
// attempt reads what the first wrote, so their format never changes (test/action/record-upgrade).

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
export class BilledCallRecord {
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
	 * Written by a second attempt when it finds the start entries: an earlier attempt that is still
	 * alive (a job run again while its first worker lives on) then stops folding, since a fold
	 * removes claims the second attempt has not checked yet. Neither attempt folds from then on
	 * (n8n 1.x runs a stalled job again once by default, QUEUE_WORKER_MAX_STALLED_COUNT=1).
	 */
	private secondAttemptValue(): string {
		return `${this.prefix}:again`;
	}

	/**
	 * Two start entries, written again in turn at each fold (removed, then recorded at the end of
	 * the row) so that newer node runs never push out both while this one goes on.
	 */
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
			if (error instanceof NeedsNewerN8nError)
				throw new NodeOperationError(
					this.context.getNode(),
					`${error.message} [item ${itemIndex}]`,
					{
						itemIndex,
						description:
							'Nothing was sent for this item, so nothing was billed. Without the record, n8n running an execution again (queue mode, after a worker restart) could send a billed request a second time. Update n8n (docs: "Updating n8n").',
					},
				);
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
