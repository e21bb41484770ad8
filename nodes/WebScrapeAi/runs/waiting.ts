import type { IExecuteFunctions, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ApiEnvelope } from '../transport';
import {
	apiRequest,
	BatchStoppedError,
	cancelledError,
	cancelSignalOf,
	isTransient,
	seconds,
} from '../transport';
import { pause } from '../transport/pause';
import type { RowFile } from './runFile';
import type { RunSettings } from './settings';

const TERMINAL_STATUSES = new Set(['completed', 'failed', 'cancelled']);

export function statusOf(envelope: ApiEnvelope): string {
	const status = envelope.data.run_status ?? envelope.data.status;
	return typeof status === 'string' ? status : 'unknown';
}

export function isTerminal(envelope: ApiEnvelope): boolean {
	return TERMINAL_STATUSES.has(statusOf(envelope));
}

export function runPath(runId: string): string {
	return `/smartbrowse/runs/${encodeURIComponent(runId)}`;
}

/**
 * The one waiting engine: polls a run on the vendor's schedule (first interval, ×1.5 up to the
 * cap) until it ends, the deadline passes, the execution is cancelled or the batch is stopped.
 * Polls are free and not rate-limited; a poll that fails transiently is simply tried again at the
 * next interval, so a flaky network does not lose a run that is still going.
 */
export async function waitForRun(
	this: IExecuteFunctions,
	runId: string,
	settings: Pick<RunSettings, 'timeoutMs' | 'pollMs' | 'maxPollMs'>,
	context: {
		itemIndex: number;
		startedAt: number;
		stop?: AbortSignal;
		pollFirst: boolean;
		/** Output "One File": where each poll's rows go (only the last poll's, the ended run's, stay). */
		rows?: RowFile;
	},
): Promise<ApiEnvelope> {
	const cancel = cancelSignalOf(this);
	const deadline = context.startedAt + settings.timeoutMs;
	let interval = settings.pollMs;
	let lastStatus = 'running';
	let lastError: Error | undefined;
	// Polls keep to the schedule counted from when waiting began, however long each request takes,
	// so slow answers never push detection later than the schedule promises.
	let nextPollAt = Date.now();
	if (!context.pollFirst) {
		nextPollAt += interval;
		interval = Math.min(interval * 1.5, settings.maxPollMs);
	}

	for (;;) {
		await pause(Math.min(nextPollAt, deadline) - Date.now(), cancel, context.stop);
		if (cancel?.aborted) throw cancelledError(this);
		if (context.stop?.aborted) throw new BatchStoppedError();
		try {
			const envelope = await apiRequest.call(this, {
				method: 'GET',
				path: runPath(runId),
				kind: 'read',
				subject: { kind: 'run', id: runId },
				itemIndex: context.itemIndex,
				deadline,
				rows: context.rows,
			});
			if (isTerminal(envelope)) return envelope;
			lastStatus = statusOf(envelope);
			lastError = undefined;
		} catch (error) {
			if (!isTransient(error)) throw error as NodeOperationError;
			lastError = error as Error;
		}
		const now = Date.now();
		if (now >= deadline) {
			throw new RunTimeoutError(
				this.getNode(),
				runId,
				settings.timeoutMs,
				lastStatus,
				context.itemIndex,
				lastError,
			);
		}
		// After a request slower than the gap, poll once right away rather than in a burst.
		nextPollAt = Math.max(nextPollAt + interval, now);
		interval = Math.min(interval * 1.5, settings.maxPollMs);
	}
}

/** A run still not ended (or not readable) when its wait's deadline passed. */
export class RunTimeoutError extends NodeOperationError {
	constructor(
		node: INode,
		readonly runId: string,
		timeoutMs: number,
		readonly lastStatus: string,
		itemIndex: number,
		readonly lastError: Error | undefined,
	) {
		const lastPoll = lastError ? ` The last poll failed: ${lastError.message}.` : '';
		super(
			node,
			`Run "${runId}" did not finish within ${seconds(timeoutMs)} (last status: ${lastStatus}) [item ${itemIndex}]`,
			{
				itemIndex,
				description: `The run may still finish on webscrape.ai. Fetch it later with Run → Get (Run ID ${runId}), or let a WebScrape AI Trigger pick it up when it ends.${lastPoll}`,
			},
		);
	}
}
