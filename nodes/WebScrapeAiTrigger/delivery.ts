import { createHash, timingSafeEqual } from 'crypto';
import type {
	IDataObject,
	INodeExecutionData,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';

import { runItems } from '../WebScrapeAi/helpers/runs';
import type { ApiEnvelope } from '../WebScrapeAi/transport';
import { apiRequest, CREDENTIAL_TYPE } from '../WebScrapeAi/transport';
import { EVENTS, type RunEvent } from './properties';

/** How many (run, event) keys the dedupe memory keeps; the oldest are dropped first. */
export const DEDUPE_CAPACITY = 5000;
const RUN_FETCH_BUDGET_MS = 20_000;

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

interface DedupeMemory {
	/** The trigger this memory belongs to (workflow and node). */
	scope: string;
	staticData: IDataObject;
}

/**
 * The keys this process saved last, per trigger. n8n loads a trigger's static data when a request
 * arrives and saves it when it is answered, so two deliveries handled at the same time would each
 * save only their own key. Merging this list back in keeps both. Static data stays the store that
 * survives restarts and is shared between processes; this list is only a helper.
 */
const savedInProcess = new Map<string, string[]>();

function memoryOf(context: IWebhookFunctions): DedupeMemory {
	return {
		scope: `${context.getWorkflow().id ?? ''}:${context.getNode().name}`,
		staticData: context.getWorkflowStaticData('node'),
	};
}

/** Everything known: the stored keys plus any this process saved meanwhile, oldest first. */
function knownKeys(memory: DedupeMemory): string[] {
	const stored = Array.isArray(memory.staticData.deliveries)
		? (memory.staticData.deliveries as string[])
		: [];
	const saved = savedInProcess.get(memory.scope) ?? [];
	const same =
		saved === stored ||
		(saved.length === stored.length && saved[saved.length - 1] === stored[stored.length - 1]);
	if (same || saved.length === 0) return stored;
	const present = new Set(stored);
	return [...stored, ...saved.filter((key) => !present.has(key))];
}

/** Assigns the list anew: n8n saves static data only when it sees a property set. */
function store(memory: DedupeMemory, keys: string[]): void {
	const bounded = keys.length > DEDUPE_CAPACITY ? keys.slice(keys.length - DEDUPE_CAPACITY) : keys;
	memory.staticData.deliveries = bounded;
	savedInProcess.set(memory.scope, bounded);
}

function isKnown(memory: DedupeMemory | undefined, key: string): boolean {
	return memory !== undefined && knownKeys(memory).includes(key);
}

function remember(memory: DedupeMemory | undefined, key: string): void {
	if (memory) store(memory, [...knownKeys(memory), key]);
}

function forget(memory: DedupeMemory | undefined, key: string): void {
	if (memory)
		store(
			memory,
			knownKeys(memory).filter((known) => known !== key),
		);
}

/**
 * Handles one delivery: checks the header, the body, the filters and the dedupe memory, then
 * (optionally) confirms the run with webscrape.ai before starting the workflow.
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
	const runId = body.run_id;
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

	const dedupe = (this.getNodeParameter('options.dedupe', true) as boolean) !== false;
	const key = `${runId}:${event}`;
	const memory = dedupe ? memoryOf(this) : undefined;
	if (isKnown(memory, key)) return answer(this, 200, { received: true, started: false });
	// Claimed before the run is fetched, so a repeat arriving meanwhile is not emitted twice.
	remember(memory, key);
	try {
		return await confirmAndEmit.call(this, body, runId, event, memory, key);
	} finally {
		// n8n saves this request's static data when it answers: save everything known by then, so
		// the last of several concurrent deliveries to be answered keeps every key.
		if (memory) store(memory, knownKeys(memory));
	}
}

async function confirmAndEmit(
	this: IWebhookFunctions,
	body: IDataObject,
	runId: string,
	event: RunEvent,
	memory: DedupeMemory | undefined,
	key: string,
): Promise<IWebhookResponseData> {
	const fetchRunDetails = this.getNodeParameter('fetchRunDetails', true) as boolean;
	let items: INodeExecutionData[];
	if (fetchRunDetails) {
		let run: ApiEnvelope;
		try {
			run = await apiRequest.call(this, {
				method: 'GET',
				path: `/smartbrowse/runs/${encodeURIComponent(runId)}`,
				kind: 'read',
				subject: { kind: 'run', id: runId },
				deadline: Date.now() + RUN_FETCH_BUDGET_MS,
			});
		} catch (error) {
			// An unknown run (forged or of another account) starts nothing; anything else means we
			// could not check, so ask the sender to deliver again later.
			forget(memory, key);
			if ((error as { httpCode?: string | null }).httpCode === '404') {
				return answer(this, 200, { received: true, started: false });
			}
			return answer(this, 503, {
				error: 'Could not confirm the run with webscrape.ai; try again later',
			});
		}
		if (run.data.run_status !== event) {
			forget(memory, key);
			return answer(this, 200, { received: true, started: false });
		}
		items = shapeRun(this, run, event, body);
	} else {
		items = [{ json: { ...body, event } }];
	}

	return { workflowData: [items], webhookResponse: { received: true, started: true } };
}

function shapeRun(
	context: IWebhookFunctions,
	run: ApiEnvelope,
	event: RunEvent,
	delivery: IDataObject,
): INodeExecutionData[] {
	const output = context.getNodeParameter('output', 'run') as string;
	if (output === 'items' && event === 'completed') {
		const rows = runItems(run, 0, false).map(({ json }) => ({ json }));
		if (rows.length > 0) return rows;
	}
	return [{ json: { ...run.data, event, timestamp: delivery.timestamp ?? null } }];
}
