import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { recordInProcessedData } from '../WebScrapeAi/helpers/processedRecord';
import { runItems, RunTimeoutError, statusOf, waitForRun } from '../WebScrapeAi/helpers/runs';
import type { ApiEnvelope } from '../WebScrapeAi/transport';

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
			if (await emittedByAnotherExecution.call(this, runId, event)) continue;
			output.push({ json: delivery, pairedItem: { item: itemIndex } });
			continue;
		}
		const run = await confirmedRun.call(this, runId, itemIndex);
		const status = statusOf(run);
		if (status !== event) {
			this.logger.info(
				`webscrape.ai reports run "${runId}" as ${status}, not ${event} as delivered: nothing emitted`,
			);
			continue;
		}
		// Recorded only once the run was read: an execution that failed before is retried whole.
		if (await emittedByAnotherExecution.call(this, runId, event)) continue;
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
 * The second line of defence against a delivery repeated to another webhook process: the webhook's
 * static-data check can miss a key another process saved at the same moment (n8n saves static data
 * whole, without a lock), but every execution records the delivery in n8n's database (shared by all
 * processes, written under a lock: rowLock.ts) before it emits it, and an execution that finds
 * another execution's record emits nothing, so the repeat never reaches the next node. A re-run of
 * the same execution (n8n 1.x queue mode, after a worker died) finds only its own record and emits
 * again. When the record cannot be written the delivery is emitted: losing it would be worse than
 * the rare repeat.
 */
async function emittedByAnotherExecution(
	this: IExecuteFunctions,
	runId: string,
	event: string,
): Promise<boolean> {
	if ((this.getNodeParameter('options.dedupe', 0, true) as boolean) === false) return false;
	const epoch = this.getWorkflowStaticData('node').epoch;
	const delivery = `delivery:${typeof epoch === 'string' ? epoch : ''}:${runId}:${event}`;
	const thisExecution = `${delivery}:${this.getExecutionId()}`;
	try {
		const outcome = await recordInProcessedData(this, [delivery, thisExecution]);
		if (outcome === 'unrecorded') return false;
		if (!outcome.processed.has(delivery) || outcome.processed.has(thisExecution)) return false;
	} catch (error) {
		this.logger.warn(
			`Could not record delivery ${runId}:${event} in n8n's database (${(error as Error).message}); emitting it`,
		);
		return false;
	}
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
