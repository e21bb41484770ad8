import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	NeedsNewerN8nError,
	recordInProcessedData,
	type Recorded,
} from '../WebScrapeAi/exactlyOnce/nodeRow';
import { runItems, RunTimeoutError, statusOf, waitForRun } from '../WebScrapeAi/runs';
import type { ApiEnvelope } from '../WebScrapeAi/transport';
import { rememberEmitted } from './emitted';

/**
 * How long the execution a delivery started keeps trying to read the run: a run that webscrape.ai
 * still reports as in progress is read again (1 s, then ×1.5 up to 4 s), as is a failed read.
 */
const CONFIRM_SCHEDULE = { timeoutMs: 20_000, pollMs: 1_000, maxPollMs: 4_000 };

/**
 * Runs inside the execution a delivery started (not in the webhook request, which answers at once):
 * reads each delivered run from webscrape.ai, drops a delivery whose run ended otherwise than it
 * says, and shapes the output. Fetching here keeps the webhook answer fast whatever the run's size,
 * and n8n stores the rows once, as this node's output, instead of also in the execution's start data.
 */
export async function emitDeliveredRuns(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const deliveries = this.getInputData();
	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < deliveries.length; itemIndex++) {
		const delivery = deliveries[itemIndex].json;
		const runId = String(delivery.run_id ?? '');
		const event = String(delivery.event ?? '');
		if (!(this.getNodeParameter('fetchRunDetails', itemIndex, true) as boolean)) {
			if (await recordEmissionUnlessRepeat.call(this, runId, event, itemIndex)) continue;
			output.push({ json: delivery, pairedItem: { item: itemIndex } });
			continue;
		}
		const readFrom = Date.now();
		const run = await confirmedRun.call(this, runId, itemIndex);
		const readMs = Date.now() - readFrom;
		const status = statusOf(run);
		if (status !== event) {
			this.logger.info(
				`webscrape.ai reports run "${runId}" as ${status}, not ${event} as delivered: nothing emitted`,
			);
			continue;
		}
		// Recorded only once the run was read: an execution that failed before is retried whole.
		const recordFrom = Date.now();
		const repeat = await recordEmissionUnlessRepeat.call(this, runId, event, itemIndex);
		this.logger.debug(
			`Delivery ${runId}:${event}: run read in ${readMs} ms, recorded in ${Date.now() - recordFrom} ms`,
		);
		if (repeat) continue;
		const rows = this.getNodeParameter('output', itemIndex, 'run') === 'items';
		if (rows && event === 'completed') {
			const items = runItems(run, itemIndex, false);
			if (items.length > 0) {
				for (const item of items) output.push(item);
				continue;
			}
		}
		output.push({
			json: { ...run.data, event, timestamp: delivery.timestamp ?? null } as IDataObject,
			pairedItem: { item: itemIndex },
		});
	}
	return [output];
}

/**
 * Records that this execution emits the delivery, and answers whether another execution already
 * emitted it (true: a repeat, emit nothing), decided by the record in n8n's database
 * (shared by every process, written under a lock: rowLock.ts) that this execution writes before it
 * emits. The record is the only authority: nothing is kept at the webhook that could swallow a
 * repeat of a delivery whose execution failed before this point. A re-run of the same execution
 * (n8n 1.x queue mode, after a worker died) finds only its own entry and emits again. When the
 * record cannot be written the execution fails rather than emit unrecorded (which could let a
 * repeat through too): the delivery stays in the failed execution, and a repeat of it is emitted.
 * Test events (manual mode) are neither checked nor recorded, so they always show in the editor
 * and never keep the production delivery of the same run out.
 */
async function recordEmissionUnlessRepeat(
	this: IExecuteFunctions,
	runId: string,
	event: string,
	itemIndex: number,
): Promise<boolean> {
	if ((this.getNodeParameter('options.dedupe', 0, true) as boolean) === false) return false;
	if (this.getMode() === 'manual') return false;
	const delivery = `delivery:${runId}:${event}`;
	const thisExecution = `${delivery}:${this.getExecutionId()}`;
	let outcome: Recorded | 'unrecorded';
	try {
		// A repeat takes its own entry out again (in the same lock hold): should n8n run this execution
		// again, it must still be a repeat, not the earlier attempt of an execution that emitted.
		outcome = await recordInProcessedData(
			this,
			[delivery, thisExecution],
			undefined,
			(processed) =>
				processed.has(delivery) && !processed.has(thisExecution) ? [thisExecution] : [],
		);
	} catch (error) {
		if (error instanceof NeedsNewerN8nError)
			throw new NodeOperationError(this.getNode(), `${error.message} [item ${itemIndex}]`, {
				itemIndex,
				description:
					'The delivery was not emitted: without the record, a repeat of it could reach the next node too. Update n8n, or turn off the option "Ignore Repeated Deliveries" to emit every delivery.',
			});
		throw new NodeOperationError(
			this.getNode(),
			`Could not record the delivery of run "${runId}" (${event}) in n8n's database, so it was not emitted [item ${itemIndex}]`,
			{
				itemIndex,
				description: `Emitting it unrecorded could let a repeat of it reach the next node too. The delivery is kept in this execution: retry it from n8n's executions list once the database answers; if webscrape.ai sends it again, that delivery is emitted. ${(error as Error).message}`,
			},
		);
	}
	if (outcome === 'unrecorded') return false;
	rememberEmitted(this, runId, event);
	if (!outcome.processed.has(delivery) || outcome.processed.has(thisExecution)) return false;
	this.logger.info(
		`Delivery ${runId}:${event} was already emitted by another execution of this trigger: nothing emitted`,
	);
	return true;
}

/** The run as webscrape.ai has it, once it has ended; errors say what the user can do. */
async function confirmedRun(
	this: IExecuteFunctions,
	runId: string,
	itemIndex: number,
): Promise<ApiEnvelope> {
	try {
		return await waitForRun.call(this, runId, CONFIRM_SCHEDULE, {
			itemIndex,
			startedAt: Date.now(),
			pollFirst: true,
		});
	} catch (error) {
		if ((error as { httpCode?: string | null }).httpCode === '404') {
			throw new NodeOperationError(
				this.getNode(),
				`webscrape.ai has no run "${runId}" under this credential's account [item ${itemIndex}]`,
				{
					itemIndex,
					description:
						"The delivery named a run the credential's API key cannot read: the recipe belongs to another webscrape.ai account, or the request did not come from webscrape.ai (a Webhook Header Value in the credential keeps such requests out).",
				},
			);
		}
		if (error instanceof RunTimeoutError) {
			const reason = error.lastError
				? `webscrape.ai could not be read: ${error.lastError.message}`
				: `it still reported the run as ${error.lastStatus}`;
			throw new NodeOperationError(
				this.getNode(),
				`Could not confirm run "${runId}" with webscrape.ai within ${CONFIRM_SCHEDULE.timeoutMs / 1000} s: ${reason} [item ${itemIndex}]`,
				{
					itemIndex,
					description:
						"The delivery is kept in this execution: retry it from n8n's executions list once webscrape.ai answers again, or fetch the run with Run → Get.",
				},
			);
		}
		// Already in words: the waiting engine and the transport throw NodeApiError or NodeOperationError.
		throw error as NodeOperationError;
	}
}
