import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { markRefusedBeforeSending } from '../core/validation';
import { BatchStoppedError } from '../transport';
import type { BilledRequests, NodeError } from './billedRequests';
import type { BilledCallRecord } from '../exactlyOnce/billedCallRecord';

/**
 * Runs `worker` for indexes 0..count-1 with at most `limit` in progress at once, starting the next
 * index as soon as one finishes. Stops starting new ones once `stop` aborts; the ones in progress
 * end by themselves (a dispatch in flight must be answered, or its run would be lost).
 */
async function forEachConcurrently(
	count: number,
	limit: number,
	worker: (index: number) => Promise<void>,
	stop?: AbortSignal,
): Promise<void> {
	let next = 0;
	const lane = async (): Promise<void> => {
		while (next < count && !stop?.aborted) {
			const index = next++;
			await worker(index);
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, lane));
}

/** n8n's own error types pass through; anything else is wrapped so n8n shows it properly. */
export function asNodeError(
	this: IExecuteFunctions,
	error: unknown,
	itemIndex?: number,
): NodeError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	return new NodeOperationError(this.getNode(), error as Error, { itemIndex });
}

/** The item n8n shows for a failed input item under "Continue (using error output)" and alike. */
export function errorItem(
	this: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
): INodeExecutionData {
	const nodeError = asNodeError.call(this, error, itemIndex);
	const json: IDataObject = { error: nodeError.message };
	if (nodeError.description) json.description = nodeError.description;
	return { json, error: nodeError, pairedItem: { item: itemIndex } };
}

/**
 * Reads and checks every item's parameters before anything is sent, so a bad item never leaves
 * half a batch behind. With continue-on-fail a bad item becomes that item's error outcome.
 */
export function prepareItems<T>(
	context: IExecuteFunctions,
	count: number,
	prepare: (itemIndex: number) => T,
): { prepared: Array<T | undefined>; outcomes: Array<ItemOutcome | undefined> } {
	const prepared: Array<T | undefined> = [];
	const outcomes: Array<ItemOutcome | undefined> = [];
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			prepared.push(prepare(itemIndex));
			outcomes.push(undefined);
		} catch (error) {
			const refused = markRefusedBeforeSending(asNodeError.call(context, error, itemIndex));
			if (!context.continueOnFail()) throw refused;
			prepared.push(undefined);
			outcomes.push({ error: refused });
		}
	}
	return { prepared, outcomes };
}

/** Per-item outcome of a batch: output items, or the error the item ended with. */
export type ItemOutcome = INodeExecutionData[] | { error: unknown };

export interface BatchOptions {
	concurrency: number;
	/** What the batch's billed requests came to, so a failing batch names every one it leaves. */
	billed?: BilledRequests;
	/** The batch's billed-call record: told when each item is done, so it can fold its claims. */
	record?: BilledCallRecord;
}

/**
 * Executes one task per input item, `concurrency` at a time, and returns the output in input
 * order. With continue-on-fail (or the error output) a failing item becomes an error item and the
 * others go on; otherwise the first failure stops new work and is thrown once the tasks already in
 * progress have settled.
 */
export async function executeBatch(
	this: IExecuteFunctions,
	outcomes: Array<ItemOutcome | undefined>,
	task: (itemIndex: number, stop: AbortSignal) => Promise<INodeExecutionData[]>,
	options: BatchOptions,
): Promise<INodeExecutionData[]> {
	const continueOnFail = this.continueOnFail();
	const pending = outcomes.flatMap((outcome, index) => (outcome === undefined ? [index] : []));
	const stopController = new AbortController();
	let fatal: { error: unknown; itemIndex: number } | undefined;
	const { record } = options;
	outcomes.forEach((outcome, itemIndex) => outcome !== undefined && record?.settle(itemIndex));

	await forEachConcurrently(
		pending.length,
		options.concurrency,
		async (position) => {
			const itemIndex = pending[position];
			try {
				outcomes[itemIndex] = await task(itemIndex, stopController.signal);
			} catch (error) {
				if (error instanceof BatchStoppedError) return;
				outcomes[itemIndex] = { error };
				if (!continueOnFail && !fatal) {
					fatal = { error, itemIndex };
					stopController.abort();
				}
			} finally {
				if (outcomes[itemIndex] !== undefined) {
					record?.settle(itemIndex);
					await record?.fold();
				}
			}
		},
		stopController.signal,
	);
	await record?.fold(true);

	const { billed } = options;
	if (fatal) {
		const error = asNodeError.call(this, fatal.error, fatal.itemIndex);
		throw billed ? billed.stopped(error, fatal.itemIndex) : error;
	}

	const output: INodeExecutionData[] = [];
	outcomes.forEach((outcome, itemIndex) => {
		if (outcome === undefined) return;
		if (Array.isArray(outcome)) {
			for (const item of outcome) output.push(item);
		} else {
			const error = asNodeError.call(this, outcome.error, itemIndex);
			output.push(
				errorItem.call(this, billed ? billed.explain(error, itemIndex) : error, itemIndex),
			);
		}
	});
	return output;
}
