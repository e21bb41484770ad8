import type {
	IDataObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestOptions,
	IWebhookFunctions,
	JsonObject,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { pause } from '../helpers/pause';
import { isHttpUrl } from '../helpers/validation';
import type { ApiFailure, RequestSubject } from './errors';
import { redact, snippetOf, toNodeApiError } from './errors';

export const CREDENTIAL_TYPE = 'webScrapeAiApi';

export type ApiContext = IExecuteFunctions | IWebhookFunctions | IHookFunctions;

/**
 * How a request may be retried. Reads are free and idempotent. Writes cost credits; a dispatch
 * also starts a run, and the API has no idempotency key, so neither is repeated when the first
 * attempt may have reached the server.
 */
export type RequestKind = 'read' | 'write' | 'dispatch';

export interface ApiCall {
	method: 'GET' | 'POST';
	/** Path below the base URL, starting with "/"; ids in it must already be encoded. */
	path: string;
	body?: IDataObject;
	kind: RequestKind;
	subject?: RequestSubject;
	itemIndex?: number;
	/** Epoch ms after which no retry or wait starts (the operation's overall timeout). */
	deadline?: number;
}

/** The success envelope (`completed`) or the dispatch envelope (`queued`). */
export interface ApiEnvelope {
	status: string;
	data: IDataObject;
	credits_used?: number;
	credits_remaining?: number;
	request_id?: string;
}

export interface ApiConnection {
	baseUrl: string;
	/** Values that must never appear in anything we output. */
	secrets: string[];
}

/** Errors of requests that failed in a way a caller may treat as "try again later". */
const transientErrors = new WeakSet<object>();

export function isTransient(error: unknown): boolean {
	return typeof error === 'object' && error !== null && transientErrors.has(error);
}

const RETRY_DELAYS_MS = [1000, 2000, 4000];
const JITTER = 0.3;
/** A server asking us to wait longer than this is treated as a failure, not a pause. */
const MAX_RETRY_WAIT_MS = 60_000;
const REQUEST_TIMEOUT_MS: Record<RequestKind, number> = {
	read: 30_000,
	dispatch: 60_000,
	write: 180_000,
};
/** Failures that prove the request never reached the server, so even a write may be repeated. */
const NOT_SENT_CODES = new Set([
	'ECONNREFUSED',
	'ENOTFOUND',
	'EAI_AGAIN',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'EADDRNOTAVAIL',
]);
const SAFE_WRITE_RETRY_STATUSES = new Set([500, 502, 503]);

const connections = new WeakMap<object, Promise<ApiConnection>>();

/** Reads the credential once per execution context. */
export async function getConnection(this: ApiContext, itemIndex = 0): Promise<ApiConnection> {
	let connection = connections.get(this);
	if (!connection) {
		connection = loadConnection.call(this, itemIndex);
		connections.set(this, connection);
	}
	return await connection;
}

async function loadConnection(this: ApiContext, itemIndex: number): Promise<ApiConnection> {
	const credentials = await (this as IExecuteFunctions).getCredentials(CREDENTIAL_TYPE, itemIndex);
	const rawBase = String(credentials.baseUrl ?? '').trim() || 'https://api.webscrape.ai/v1';
	const baseUrl = rawBase.replace(/\/+$/, '');
	if (!isHttpUrl(baseUrl)) {
		throw new NodeOperationError(
			this.getNode(),
			'The Base URL in the WebScrape AI credential is not a valid http(s) URL',
			{ description: 'Use https://api.webscrape.ai/v1 unless you run a proxy or a simulator.' },
		);
	}
	const secrets = [credentials.apiKey, credentials.webhookHeaderValue]
		.filter((value) => typeof value === 'string' && value.length > 0)
		.map(String);
	return { baseUrl, secrets };
}

export function cancelSignalOf(context: ApiContext): AbortSignal | undefined {
	const candidate = context as Partial<IExecuteFunctions>;
	return typeof candidate.getExecutionCancelSignal === 'function'
		? candidate.getExecutionCancelSignal()
		: undefined;
}

const ERROR_CODE = /^(E[A-Z_]+|ERR_[A-Z_]+)$/;

/** Finds the Node.js error code in the error n8n wraps around a failed request. */
function networkCodeOf(error: unknown): string {
	let current = error as { code?: unknown; httpCode?: unknown; cause?: unknown } | undefined;
	for (let depth = 0; current && depth < 5; depth++) {
		// NodeApiError keeps axios' code as its httpCode; the original error may be in cause.
		for (const candidate of [current.code, current.httpCode]) {
			if (typeof candidate === 'string' && ERROR_CODE.test(candidate)) return candidate;
		}
		current = current.cause as typeof current;
	}
	return 'ENETWORK';
}

function headerOf(headers: IDataObject | undefined, name: string): string | undefined {
	if (!headers) return undefined;
	const value = headers[name] ?? headers[name.toLowerCase()];
	if (Array.isArray(value)) return value.length ? String(value[0]) : undefined;
	return value === undefined || value === null ? undefined : String(value);
}

/** Seconds or an HTTP date, as the vendor SDKs accept it. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	const seconds = Number(value);
	if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function backoffMs(retry: number): number {
	const base = RETRY_DELAYS_MS[Math.min(retry, RETRY_DELAYS_MS.length - 1)];
	return Math.round(base * (1 + (Math.random() * 2 - 1) * JITTER));
}

interface RawResponse {
	statusCode: number;
	headers: IDataObject;
	body: unknown;
}

/** Turns a response into the envelope, or into a failure description. */
function interpret(response: RawResponse): { envelope?: ApiEnvelope; failure?: ApiFailure } {
	const status = response.statusCode;
	const contentType = headerOf(response.headers, 'content-type');
	const text =
		typeof response.body === 'string'
			? response.body
			: Buffer.isBuffer(response.body)
				? response.body.toString('utf8')
				: response.body === undefined || response.body === null
					? ''
					: JSON.stringify(response.body);
	const headerRequestId = headerOf(response.headers, 'x-request-id');

	let parsed: unknown;
	try {
		parsed = text === '' ? undefined : JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	const body =
		parsed && typeof parsed === 'object' && !Array.isArray(parsed)
			? (parsed as IDataObject)
			: undefined;
	const requestId = typeof body?.request_id === 'string' ? body.request_id : headerRequestId;

	if (!body) {
		return {
			failure: {
				status,
				requestId,
				rawSnippet: snippetOf(text) || '(empty body)',
				contentType,
				retries: 0,
			},
		};
	}

	const errorField = body.error;
	if (status >= 300 || body.status === 'error') {
		const failure: ApiFailure = { status, requestId, retries: 0 };
		if (errorField && typeof errorField === 'object' && !Array.isArray(errorField)) {
			const apiError = errorField as IDataObject;
			if (typeof apiError.code === 'string') failure.code = apiError.code;
			if (typeof apiError.message === 'string') failure.apiMessage = apiError.message;
			if (apiError.details && typeof apiError.details === 'object') {
				failure.details = apiError.details as JsonObject;
			}
		} else if (typeof errorField === 'string') {
			// A 401 may come back as a plain {"error": "..."} instead of the envelope.
			failure.apiMessage = errorField;
		}
		if (!failure.code && status === 401) failure.code = 'unauthorized';
		return { failure };
	}

	if (!body.data || typeof body.data !== 'object' || Array.isArray(body.data)) {
		return {
			failure: {
				status,
				requestId,
				rawSnippet: snippetOf(text),
				contentType,
				retries: 0,
			},
		};
	}
	if (body.request_id === undefined && requestId !== undefined) body.request_id = requestId;
	return { envelope: body as unknown as ApiEnvelope };
}

function isRetryable(kind: RequestKind, failure: ApiFailure): boolean {
	if (failure.status === 0) {
		return kind === 'read' || NOT_SENT_CODES.has(failure.networkCode ?? '');
	}
	if (failure.status === 429) {
		return failure.details?.reason !== 'sb_runs_per_month';
	}
	if (kind === 'read') return failure.status >= 500 || failure.status < 300;
	return SAFE_WRITE_RETRY_STATUSES.has(failure.status);
}

/** A write whose request may have reached the server, with no answer to tell what it did. */
function outcomeUnknown(kind: RequestKind, failure: ApiFailure): boolean {
	if (kind === 'read') return false;
	if (failure.status === 0) return !NOT_SENT_CODES.has(failure.networkCode ?? '');
	return failure.status >= 200 && failure.status < 300;
}

function unknownOutcomeText(call: ApiCall): { message: string; advice: string } {
	if (call.kind === 'dispatch') {
		return {
			message: `The run of recipe "${call.subject?.id ?? ''}" may have started, but webscrape.ai's answer was lost`,
			advice:
				'It was not retried, so that no second run starts and no second run is billed. Check the webscrape.ai dashboard (or a WebScrape AI Trigger) before running this item again.',
		};
	}
	return {
		message: 'webscrape.ai may have processed the request, but its answer was lost',
		advice:
			'It was not retried, so that you are not billed twice. Run the node again if you still need the result.',
	};
}

/**
 * Every request to webscrape.ai goes through here: authentication by n8n, retries by kind,
 * errors in words, and no secret in anything it throws.
 */
export async function apiRequest(this: ApiContext, call: ApiCall): Promise<ApiEnvelope> {
	const connection = await getConnection.call(this, call.itemIndex ?? 0);
	const cancelSignal = cancelSignalOf(this);
	const node = this.getNode();

	for (let retry = 0; ; retry++) {
		if (cancelSignal?.aborted) throw cancelledError(this);
		const now = Date.now();
		const remaining = call.deadline === undefined ? Infinity : call.deadline - now;
		const options: IHttpRequestOptions = {
			method: call.method,
			url: `${connection.baseUrl}${call.path}`,
			headers: { Accept: 'application/json' },
			encoding: 'text',
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			// The API never redirects; following one could carry the key to another host.
			disableFollowRedirect: true,
			sendCredentialsOnCrossOriginRedirect: false,
			timeout: Math.max(1000, Math.min(REQUEST_TIMEOUT_MS[call.kind], remaining)),
		};
		if (call.body !== undefined) {
			options.body = call.body;
			(options.headers as IDataObject)['Content-Type'] = 'application/json';
		}

		let failure: ApiFailure;
		let retryAfterMs: number | undefined;
		try {
			const response = (await this.helpers.httpRequestWithAuthentication.call(
				this,
				CREDENTIAL_TYPE,
				options,
			)) as RawResponse;
			const { envelope, failure: responseFailure } = interpret(response);
			if (envelope) return envelope;
			failure = responseFailure as ApiFailure;
			retryAfterMs = parseRetryAfter(headerOf(response.headers, 'retry-after'));
		} catch (error) {
			if (cancelSignal?.aborted) throw cancelledError(this);
			failure = { status: 0, networkCode: networkCodeOf(error), retries: 0 };
		}
		failure.retries = retry;

		const errorOptions = {
			subject: call.subject,
			itemIndex: call.itemIndex,
			secrets: connection.secrets,
		};
		if (outcomeUnknown(call.kind, failure)) {
			throw toNodeApiError(node, failure, { ...errorOptions, ...unknownOutcomeText(call) });
		}
		const wait = retryAfterMs ?? backoffMs(retry);
		const canRetry =
			isRetryable(call.kind, failure) &&
			retry < RETRY_DELAYS_MS.length &&
			wait <= MAX_RETRY_WAIT_MS &&
			Date.now() + wait < (call.deadline ?? Infinity);
		if (!canRetry) {
			const error = toNodeApiError(node, failure, errorOptions);
			if (isRetryable(call.kind, failure)) transientErrors.add(error);
			throw error;
		}
		this.logger?.debug(
			redact(
				`webscrape.ai ${call.method} ${call.path} failed (${
					failure.status || failure.networkCode
				}); retry ${retry + 1} in ${wait} ms`,
				connection.secrets,
			),
		);
		await pause(wait, cancelSignal);
		if (cancelSignal?.aborted) throw cancelledError(this);
	}
}

export function cancelledError(context: ApiContext): NodeOperationError {
	return new NodeOperationError(context.getNode(), 'The execution was cancelled');
}
