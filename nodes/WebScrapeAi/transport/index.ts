import type {
	IDataObject,
	IExecuteFunctions,
	IHttpRequestOptions,
	INode,
	JsonObject,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ApiFailure, RequestSubject } from './errors';
import { redact, snippetOf, toNodeApiError } from './errors';
import { pause } from './pause';
import type { RequestKind } from './retryPolicy';
import {
	backoffMs,
	isRetryable,
	MAX_RETRIES,
	MAX_RETRY_WAIT_MS,
	outcomeUnknown,
	parseRetryAfter,
} from './retryPolicy';
import type { RowSink } from './rowScanner';
import { RowScanner } from './rowScanner';
import type { BusyRefusal, MinutePacer } from './planLimits';
import { pacerOf, perMinuteTimeout } from './planLimits';
import type { ApiContext } from './signals';
import { BatchStoppedError, cancelSignalOf, cancelledError, throwIfStopped } from './signals';

export type { ApiContext, BusyRefusal };
export { BatchStoppedError, cancelSignalOf, cancelledError, throwIfStopped };
export { seconds } from './signals';

export const CREDENTIAL_TYPE = 'webScrapeAiApi';

export type { RequestKind };

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
	/** The batch's stop signal: a wait for the plan's throttles ends when another item failed. */
	stop?: AbortSignal;
	/**
	 * Called when webscrape.ai answers 429 `max_concurrent_requests`: waits for a free slot of the
	 * plan (or throws), then the request is sent again. Without it such a 429 is retried like a 5xx.
	 */
	onBusy?: (refusal: BusyRefusal) => Promise<void>;
	/**
	 * Awaited once, right before the request is first sent (after any wait for the plan's
	 * throttles): the caller records that it is being sent, or throws to send nothing.
	 */
	beforeFirstSend?: () => Promise<void>;
	/**
	 * A run read for a file: its rows go to this sink as the body arrives (reset at each attempt)
	 * and the envelope comes back without them, so a large run is never held whole.
	 */
	rows?: RowSink;
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

/** Errors of billed requests that may have reached webscrape.ai: they may have been billed. */
const unknownOutcomeErrors = new WeakSet<object>();

export function isOutcomeUnknown(error: unknown): boolean {
	return typeof error === 'object' && error !== null && unknownOutcomeErrors.has(error);
}

const REQUEST_TIMEOUT_MS: Record<RequestKind, number> = {
	read: 30_000,
	dispatch: 60_000,
	write: 180_000,
};
/** Whether `text` is an absolute http(s) URL (page URLs and the credential's Base URL). */
export function isHttpUrl(text: string): boolean {
	try {
		const { protocol } = new URL(text);
		return protocol === 'http:' || protocol === 'https:';
	} catch {
		return false;
	}
}

const connections = new WeakMap<object, Promise<ApiConnection>>();

/** Reads the credential once per execution context. */
async function getConnection(this: ApiContext, itemIndex = 0): Promise<ApiConnection> {
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

interface RawResponse {
	statusCode: number;
	headers: IDataObject;
	body: unknown;
}

/**
 * Reads a streamed body: a success's rows go to the sink as they arrive and its text comes back
 * without them (any other answer, small, has no rows and comes back whole).
 */
async function readRows(response: RawResponse, sink: RowSink): Promise<RawResponse> {
	// A success's length sizes the file being written: a hint only (a compressed answer's is
	// smaller, and n8n's client may drop the content-encoding header); the file grows past it.
	const length = Number(headerOf(response.headers, 'content-length'));
	const sized =
		response.statusCode >= 200 &&
		response.statusCode < 300 &&
		headerOf(response.headers, 'content-encoding') === undefined &&
		length > 0;
	const scanner = new RowScanner(sink, sized ? length : undefined);
	for await (const chunk of chunksOf(response.body)) scanner.write(chunk);
	return { ...response, body: scanner.end() };
}

/** A streamed body's chunks (or a body some n8n version read whole, as one chunk). */
async function* chunksOf(body: unknown): AsyncGenerator<Buffer> {
	if (typeof body === 'string') yield Buffer.from(body, 'utf8');
	else if (Buffer.isBuffer(body)) yield body;
	else if (body)
		for await (const chunk of body as AsyncIterable<Buffer | string>)
			yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
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

	// An answer that is not the API's JSON envelope: shown as an excerpt.
	const unreadable = (): { failure: ApiFailure } => ({
		failure: {
			status,
			requestId,
			rawSnippet: snippetOf(text) || '(empty body)',
			contentType,
			retries: 0,
		},
	});
	if (!body) return unreadable();

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

	if (!body.data || typeof body.data !== 'object' || Array.isArray(body.data)) return unreadable();
	if (body.request_id === undefined && requestId !== undefined) body.request_id = requestId;
	return { envelope: body as unknown as ApiEnvelope };
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

const NO_DEADLINE_WAIT_MS = 15 * 60_000;

function numberDetail(failure: ApiFailure, name: string): number | undefined {
	const value = failure.details?.[name];
	return typeof value === 'number' && value > 0 ? value : undefined;
}

/** What one send came to: the envelope, or a failure and the wait webscrape.ai asked for. */
type SendResult =
	| { envelope: ApiEnvelope; failure?: undefined; retryAfterMs?: undefined }
	| { envelope?: undefined; failure: ApiFailure; retryAfterMs?: number };

/** What n8n's client is asked to send for `call`. */
function requestOptions(call: ApiCall, connection: ApiConnection): IHttpRequestOptions {
	const remaining = call.deadline === undefined ? Infinity : call.deadline - Date.now();
	const options: IHttpRequestOptions = {
		method: call.method,
		url: `${connection.baseUrl}${call.path}`,
		headers: { Accept: 'application/json' },
		encoding: call.rows ? 'stream' : 'text',
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
		// The API never redirects; following one could carry the key to another host.
		disableFollowRedirect: true,
		sendCredentialsOnCrossOriginRedirect: false,
		// A write is never cut short by the deadline: its outcome would become unknown.
		timeout:
			call.kind !== 'read'
				? REQUEST_TIMEOUT_MS[call.kind]
				: Math.max(1000, Math.min(REQUEST_TIMEOUT_MS[call.kind], remaining)),
	};
	if (call.body !== undefined) {
		options.body = call.body;
		(options.headers as IDataObject)['Content-Type'] = 'application/json';
	}
	return options;
}

/** Sends `call` once through n8n's authenticated client and reads what came back. */
async function sendOnce(
	this: ApiContext,
	call: ApiCall,
	connection: ApiConnection,
	pacer: MinutePacer | undefined,
): Promise<SendResult> {
	try {
		let response = (await this.helpers.httpRequestWithAuthentication.call(
			this,
			CREDENTIAL_TYPE,
			requestOptions(call, connection),
		)) as RawResponse;
		if (call.rows) response = await readRows(response, call.rows);
		const { envelope, failure } = interpret(response);
		if (envelope) {
			pacer?.settled(true);
			return { envelope };
		}
		return {
			failure: failure as ApiFailure,
			retryAfterMs: parseRetryAfter(headerOf(response.headers, 'retry-after')),
		};
	} catch (error) {
		pacer?.settled(false);
		const failure: ApiFailure = { status: 0, networkCode: networkCodeOf(error), retries: 0 };
		// A stopping batch drops a request only if it never reached webscrape.ai: one that may
		// have goes on to its own error below, so the batch's error can name it.
		if (cancelSignalOf(this)?.aborted || !outcomeUnknown(call.kind, failure))
			throwIfStopped(this, call.stop);
		return { failure };
	}
}

/**
 * After a failure that is not a throttle of the plan: the wait before the next try, or the error
 * in words (an unknown outcome is never tried again).
 */
function retryWaitOrThrow(
	node: INode,
	call: ApiCall,
	failure: ApiFailure,
	retryAfterMs: number | undefined,
	errorOptions: { subject?: RequestSubject; itemIndex?: number; secrets: string[] },
): number {
	if (outcomeUnknown(call.kind, failure)) {
		const error = toNodeApiError(node, failure, { ...errorOptions, ...unknownOutcomeText(call) });
		unknownOutcomeErrors.add(error);
		throw error;
	}
	const wait = retryAfterMs ?? backoffMs(failure.retries);
	const canRetry =
		isRetryable(call.kind, failure) &&
		failure.retries < MAX_RETRIES &&
		wait <= MAX_RETRY_WAIT_MS &&
		Date.now() + wait < (call.deadline ?? Infinity);
	if (!canRetry) {
		const error = toNodeApiError(node, failure, errorOptions);
		if (isRetryable(call.kind, failure)) transientErrors.add(error);
		throw error;
	}
	return wait;
}

/** Right before the first send: the caller records it, or throws to send nothing. */
async function announce(call: ApiCall, pacer: MinutePacer | undefined): Promise<void> {
	try {
		await call.beforeFirstSend?.();
	} catch (error) {
		pacer?.settled(false);
		throw error as NodeOperationError;
	}
}

/**
 * Every request to webscrape.ai goes through here: authentication by n8n, the plan's throttles,
 * retries by kind, errors in words, and no secret in anything it throws.
 */
export async function apiRequest(this: ApiContext, call: ApiCall): Promise<ApiEnvelope> {
	const connection = await getConnection.call(this, call.itemIndex ?? 0);
	const signals = [cancelSignalOf(this), call.stop].filter(
		(signal): signal is AbortSignal => !!signal,
	);
	const node = this.getNode();
	const pacer = call.kind !== 'read' ? pacerOf(this) : undefined;
	const startedAt = Date.now();
	const throttleDeadline = call.deadline ?? startedAt + NO_DEADLINE_WAIT_MS;
	const errorOptions = {
		subject: call.subject,
		itemIndex: call.itemIndex,
		secrets: connection.secrets,
	};
	let lastRefusal: ApiFailure | undefined;
	let announced = call.beforeFirstSend === undefined;

	for (let retry = 0; ; ) {
		throwIfStopped(this, call.stop);
		let sentAt = 0;
		if (pacer) {
			const turn = await pacer.acquire(throttleDeadline, signals);
			throwIfStopped(this, call.stop);
			if (turn.turn === 'timeout') {
				throw perMinuteTimeout(node, lastRefusal, pacer, turn, startedAt, call, errorOptions);
			}
			sentAt = turn.sentAt;
		}
		if (!announced) {
			announced = true;
			await announce(call, pacer);
		}
		if (pacer) sentAt = pacer.sending(sentAt);
		const { envelope, failure, retryAfterMs } = await sendOnce.call(this, call, connection, pacer);
		if (envelope) return envelope;
		failure.retries = retry;

		// The plan's throttles are waited out, not retried a fixed number of times: the wait is
		// bounded by the operation's timeout instead (refused requests cost nothing).
		const reason = failure.status === 429 ? failure.details?.reason : undefined;
		if (pacer && reason === 'rate_limit_per_min') {
			pacer.refused(sentAt, numberDetail(failure, 'limit_per_min'), retryAfterMs);
			lastRefusal = failure;
			this.logger?.debug(
				`webscrape.ai ${call.method} ${call.path}: per-minute limit reached; waiting for the window`,
			);
			continue;
		}
		pacer?.settled(failure.status !== 0);
		if (reason === 'max_concurrent_requests' && call.onBusy) {
			await call.onBusy({ maxConcurrent: numberDetail(failure, 'max_concurrent'), retryAfterMs });
			continue;
		}
		const wait = retryWaitOrThrow(node, call, failure, retryAfterMs, errorOptions);
		const failed = failure.status || failure.networkCode;
		const retrying = `retry ${++retry} in ${wait} ms`;
		const text = `webscrape.ai ${call.method} ${call.path} failed (${failed}); ${retrying}`;
		this.logger?.debug(redact(text, connection.secrets));
		await pause(wait, ...signals);
	}
}

/**
 * `GET /smartbrowse/usage`: free and not rate-limited; the account's plan caps and balance. With
 * `deadline`, its retries end by then (the trigger's activation must answer the editor).
 */
export async function readUsage(this: ApiContext, deadline?: number): Promise<ApiEnvelope> {
	return await apiRequest.call(this, {
		method: 'GET',
		path: '/smartbrowse/usage',
		kind: 'read',
		subject: { kind: 'usage' },
		...(deadline === undefined ? {} : { deadline }),
	});
}
