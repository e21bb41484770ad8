import { createHash, timingSafeEqual } from 'crypto';
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { CREDENTIAL_TYPE } from '../WebScrapeAi/transport';
import { emittedHere } from './emitted';
import { EVENTS, type RunEvent } from './properties';

function answer(
	context: IWebhookFunctions,
	status: number,
	body: IDataObject,
): IWebhookResponseData {
	const response = context.getResponseObject();
	response.status(status).json(body);
	return { noWebhookResponse: true };
}

/** Compares in constant time, whatever the lengths, so a wrong guess reveals nothing. */
function sameSecret(received: string, expected: string): boolean {
	const a = createHash('sha256').update(received).digest();
	const b = createHash('sha256').update(expected).digest();
	return timingSafeEqual(a, b);
}

function normaliseEvent(value: string): RunEvent | undefined {
	const name = value.startsWith('smartbrowse.') ? value.slice('smartbrowse.'.length) : value;
	return (EVENTS as readonly string[]).includes(name) ? (name as RunEvent) : undefined;
}

function parsedBody(context: IWebhookFunctions): IDataObject | undefined {
	let body: unknown = context.getBodyData();
	if (typeof body === 'string') {
		try {
			body = JSON.parse(body);
		} catch {
			return undefined;
		}
	}
	if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
	return body as IDataObject;
}

/**
 * The old design's dedupe list in static data (up to 2,000 keys, ~48 KB that n8n rewrote whole per
 * delivery) and its epoch: dropped at activation, so n8n saves the smaller static data once.
 */
export function dropOldDedupeList(staticData: IDataObject): void {
	if ('deliveries' in staticData) delete staticData.deliveries;
	if ('epoch' in staticData) delete staticData.epoch;
}

/**
 * Handles one delivery: checks the header, the body and the filters, answers, and starts the
 * workflow with the delivery (unless this process already emitted it). Nothing here waits on
 * webscrape.ai: the run is read inside the execution (runDetails.ts), so the sender gets its answer
 * at once whatever the run's size, and its (undocumented) delivery timeout never makes it send the
 * delivery again.
 */
export async function handleDelivery(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const credentials = await this.getCredentials(CREDENTIAL_TYPE);
	const expectedValue = String(credentials.webhookHeaderValue ?? '');
	if (expectedValue !== '') {
		const headerName = String(credentials.webhookHeaderName || 'Authorization').toLowerCase();
		const received = this.getHeaderData()[headerName];
		const value = Array.isArray(received) ? received[0] : received;
		if (typeof value !== 'string' || !sameSecret(value, expectedValue)) {
			return answer(this, 401, { error: 'Unauthorized' });
		}
	}

	const body = parsedBody(this);
	if (
		!body ||
		typeof body.run_id !== 'string' ||
		body.run_id === '' ||
		typeof body.event !== 'string'
	) {
		return answer(this, 400, {
			error: 'Expected a JSON object with string "run_id" and "event", as webscrape.ai sends',
		});
	}
	const event = normaliseEvent(body.event);
	const events = this.getNodeParameter('events', []) as string[];
	if (!event || !events.includes(event))
		return answer(this, 200, { received: true, started: false });

	const recipeFilter = String(this.getNodeParameter('recipeIds', '') ?? '')
		.split(',')
		.map((id) => id.trim())
		.filter((id) => id !== '');
	if (recipeFilter.length > 0 && !recipeFilter.includes(String(body.recipe_id ?? ''))) {
		return answer(this, 200, { received: true, started: false });
	}

	// A repeat this process's executions already emitted needs no execution (one process: the
	// webhook and its executions share this memory). Anything else goes on to the execution, whose
	// record in n8n's database decides (runDetails.ts): a delivery whose execution failed before
	// emitting it is emitted when it comes again.
	const dedupe = (this.getNodeParameter('options.dedupe', true) as boolean) !== false;
	if (dedupe && this.getMode() !== 'manual' && emittedHere(this, String(body.run_id), event)) {
		return answer(this, 200, { received: true, started: false });
	}
	// n8n sends this answer ("on received") once it has stored the execution (2.x; 1.x sends it just
	// before): a delivery n8n could not store, say while its database stalls, gets an error, so the
	// sender knows to send it again. The run is read in the execution: the answer never waits on it.
	return {
		webhookResponse: { received: true, started: true },
		workflowData: [[{ json: { ...body, event } }]],
	};
}
