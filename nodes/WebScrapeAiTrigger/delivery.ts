import { createHash, timingSafeEqual } from 'crypto';
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { CREDENTIAL_TYPE } from '../WebScrapeAi/transport';
import { EVENTS, type RunEvent } from './properties';

/**
 * How many (run, event) keys the dedupe memory keeps; the oldest are dropped first. About 24 bytes
 * each in the workflow's static data, which n8n rewrites whole per delivery: under 50 KB, so it
 * fits the 64 KiB TEXT column of MySQL/MariaDB under n8n 1.x.
 */
export const DEDUPE_CAPACITY = 2000;

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
	/** The trigger this memory belongs to (workflow, node and the store's epoch). */
	scope: string;
	staticData: IDataObject;
}

/**
 * The keys this process has seen in a trigger's stored list or written to it. n8n loads a
 * trigger's static data when a request arrives and saves the whole object when it is answered,
 * with no lock: two deliveries handled at the same time (in this process or in another webhook
 * process) each save only the list they loaded plus their own key, and the last save wins.
 * Merging this list back into every save restores the keys a concurrent save dropped. Every key
 * in it was in the shared store once; the store's epoch (set at activation) is part of the scope,
 * so a store that was reset is never overruled by what a process remembers of an older one.
 */
const seenInProcess = new Map<string, string[]>();

function bound(keys: string[]): string[] {
	return keys.length > DEDUPE_CAPACITY ? keys.slice(keys.length - DEDUPE_CAPACITY) : keys;
}

function memoryOf(context: IWebhookFunctions): DedupeMemory {
	const staticData = context.getWorkflowStaticData('node');
	const epoch = typeof staticData.epoch === 'string' ? staticData.epoch : '';
	return {
		scope: `${context.getWorkflow().id ?? ''}:${context.getNode().name}:${epoch}`,
		staticData,
	};
}

/**
 * Everything known: the stored keys plus those this process has seen, oldest first, and whether
 * the store lacked any of them (a concurrent save, from this process, whose saves may land out of
 * order, or from another webhook process, dropped them).
 */
function mergedKeys(memory: DedupeMemory): { known: string[]; dropped: boolean } {
	const stored = Array.isArray(memory.staticData.deliveries)
		? (memory.staticData.deliveries as string[])
		: [];
	const seen = seenInProcess.get(memory.scope) ?? [];
	const present = new Set(stored);
	const missing = seen.filter((key) => !present.has(key));
	const known = missing.length === 0 ? stored : bound([...stored, ...missing]);
	seenInProcess.set(memory.scope, known);
	return { known, dropped: missing.length > 0 };
}

/** Assigns the list anew: n8n saves static data only when it sees a property set. */
function store(memory: DedupeMemory, keys: string[]): void {
	const bounded = bound(keys);
	memory.staticData.deliveries = bounded;
	seenInProcess.set(memory.scope, bounded);
}

/** Marks a trigger's store at activation, so a reset store starts a new dedupe scope. */
export function markStoreEpoch(staticData: IDataObject): void {
	if (typeof staticData.epoch !== 'string') {
		staticData.epoch = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
	}
}

/**
 * Handles one delivery: checks the header, the body, the filters and the dedupe memory, answers,
 * and starts the workflow with the delivery. Nothing here waits on webscrape.ai: the run is read
 * inside the execution (runDetails.ts), so the sender gets its answer at once whatever the run's
 * size, and its (undocumented) delivery timeout never makes it send the delivery again.
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

	const dedupe = (this.getNodeParameter('options.dedupe', true) as boolean) !== false;
	if (dedupe) {
		const memory = memoryOf(this);
		const key = `${body.run_id}:${event}`;
		const { known, dropped } = mergedKeys(memory);
		if (known.includes(key)) {
			// A repeat still writes back what a concurrent save dropped, repairing the shared store.
			if (dropped) store(memory, known);
			return answer(this, 200, { received: true, started: false });
		}
		store(memory, [...known, key]);
	}
	// Answered here, before n8n starts the execution: n8n saves a webhook's static data when the
	// answer is sent, and n8n 2.x sends an "on received" answer only after starting the execution,
	// which clears the mark that the static data changed, so the dedupe key was never saved.
	answer(this, 200, { received: true, started: true });
	return { noWebhookResponse: true, workflowData: [[{ json: { ...body, event } }]] };
}
