import type { IExecuteFunctions, IHookFunctions, IWebhookFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

// The execution's cancel signal and a batch's stop, as every wait checks them, and the words for a
// wait. The floor of the floor: imports nothing of ours.

export type ApiContext = IExecuteFunctions | IWebhookFunctions | IHookFunctions;

/** Thrown inside a batch whose other item already failed; never shown to the user. */
export class BatchStoppedError extends Error {
	constructor() {
		super('stopped');
	}
}

/** Throws when the execution was cancelled or the batch stopped; what every wait checks. */
export function throwIfStopped(context: ApiContext, stop?: AbortSignal): void {
	if (cancelSignalOf(context)?.aborted) throw cancelledError(context);
	if (stop?.aborted) throw new BatchStoppedError();
}

export function cancelSignalOf(context: ApiContext): AbortSignal | undefined {
	const candidate = context as Partial<IExecuteFunctions>;
	return typeof candidate.getExecutionCancelSignal === 'function'
		? candidate.getExecutionCancelSignal()
		: undefined;
}

export function seconds(ms: number): string {
	return `${Math.round(ms / 100) / 10} s`;
}

export function cancelledError(context: ApiContext): NodeOperationError {
	return new NodeOperationError(context.getNode(), 'The execution was cancelled');
}
