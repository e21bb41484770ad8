import type { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { isOutcomeUnknown } from '../transport';

/** The errors an item or a node run ends with. */
export type NodeError = NodeApiError | NodeOperationError;

/** How far one item's billed request got, as far as this node run knows. */
type Sent =
	| { state: 'in flight' }
	| { state: 'answered'; runId?: string }
	| { state: 'unknown' }
	| { state: 'earlier attempt' };

/**
 * The batch's account of every billed request that may have reached webscrape.ai, so each ends in
 * exactly one place a user sees (docs/exactly-once.md, A1): its output item, its own error, or, when
 * the batch stops, the node's error, which names every other one by item. Kept by the one path of
 * billed requests (billedBatch.ts) and read by the batch (batch.ts).
 */
export class BilledRequests {
	private readonly sent = new Map<number, Sent>();

	constructor(private readonly what: 'run' | 'page') {}

	/** The item's request is about to leave (after its claim and reservation). */
	leaving(itemIndex: number): void {
		this.sent.set(itemIndex, { state: 'in flight' });
	}

	/** An earlier attempt of this execution claimed the item's request: it may have sent it. */
	sentEarlier(itemIndex: number): void {
		this.sent.set(itemIndex, { state: 'earlier attempt' });
	}

	/** webscrape.ai answered: the request was processed (a dispatch's answer names its run). */
	answered(itemIndex: number, runId?: string): void {
		this.sent.set(itemIndex, { state: 'answered', runId: runId || undefined });
	}

	/** The request failed: billed or not is unknown, or it was not (then it leaves the account). */
	failed(itemIndex: number, error: unknown): void {
		if (isOutcomeUnknown(error)) this.sent.set(itemIndex, { state: 'unknown' });
		else if (this.sent.get(itemIndex)?.state !== 'earlier attempt') this.sent.delete(itemIndex);
	}

	/**
	 * An item's own error (its error item, or the node's when it stops the batch), with the run it
	 * started named when the error does not name it: the run goes on and is billed.
	 */
	explain<E extends NodeError>(error: E, itemIndex: number): E {
		const sent = this.sent.get(itemIndex);
		if (sent?.state !== 'answered') return error;
		const text = `${error.message} ${error.description ?? ''}`;
		const note =
			this.what === 'run'
				? sent.runId && !text.includes(sent.runId)
					? `Its run ${sent.runId} was started and goes on at webscrape.ai: fetch it with Run → Get instead of running this item again.`
					: undefined
				: 'webscrape.ai had processed and billed the request: running this item again pays for it again.';
		if (note) error.description = error.description ? `${error.description} ${note}` : note;
		return error;
	}

	/**
	 * The node's error when the batch stops at `failedItem`: the item's own error, naming every
	 * other request webscrape.ai may bill, by item, so running the node again pays for none twice.
	 */
	stopped<E extends NodeError>(error: E, failedItem: number): E {
		this.explain(error, failedItem);
		const others = [...this.sent.entries()]
			.filter(([itemIndex]) => itemIndex !== failedItem)
			.sort(([a], [b]) => a - b);
		if (others.length === 0) return error;
		const list = others.map(([itemIndex, sent]) => `${this.phrase(sent)} (item ${itemIndex})`);
		const advice =
			this.what === 'run'
				? 'Fetch them with Run → Get (or find them on the webscrape.ai dashboard) instead of running these items again'
				: 'Their results are lost with this error, and running these items again pays for them again: run only the other items';
		const note = `This execution also sent ${others.length} other request${
			others.length === 1 ? '' : 's'
		} that webscrape.ai may bill: ${list.join(', ')}. ${advice}, or turn on "Continue (using error output)" so one failing item does not stop the others.`;
		error.description = error.description ? `${error.description} ${note}` : note;
		return error;
	}

	private phrase(sent: Sent): string {
		switch (sent.state) {
			case 'answered':
				return this.what === 'run'
					? sent.runId
						? `started run ${sent.runId}`
						: 'started a run'
					: 'billed, its result not shown';
			case 'earlier attempt':
				return 'sent by an earlier attempt of this execution';
			default:
				// Unknown, or (never seen) still in flight when the batch ended.
				return this.what === 'run'
					? 'may have started a run, its answer lost'
					: 'may have been billed, its answer lost';
		}
	}
}
