import type { ApiFailure } from './errors';

/**
 * How a request may be retried. Reads are free and idempotent. Writes cost credits; a dispatch
 * also starts a run, and the API has no idempotency key, so neither is repeated when the first
 * attempt may have reached the server.
 */
export type RequestKind = 'read' | 'write' | 'dispatch';

/** Retries after a failure that cost nothing: 1, 2 and 4 s (±30 %), then the error. */
export const MAX_RETRIES = 3;
/** A server asking us to wait longer than this is treated as a failure, not a pause. */
export const MAX_RETRY_WAIT_MS = 60_000;

/** Failures that prove the request never reached the server, so even a write may be repeated. */
const NOT_SENT_CODES = new Set([
	'ECONNREFUSED',
	'ENOTFOUND',
	'EAI_AGAIN',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'EADDRNOTAVAIL',
]);
/** Answers in which webscrape.ai says it did nothing: failed requests cost nothing. */
const SAFE_WRITE_RETRY_STATUSES = new Set([500, 502, 503]);
/** A proxy's "I stopped waiting": webscrape.ai behind it may have gone on and billed the request. */
const GATEWAY_TIMEOUT = 504;

const MAX_BACKOFF_MS = 60_000;

/**
 * Exponential backoff with ±30 % jitter, as the vendor's retry guidance describes: between retries
 * here, and between a plan throttle's refusals (planLimits.ts).
 */
export function throttleBackoffMs(attempt: number, capMs = MAX_BACKOFF_MS): number {
	const base = Math.min(capMs, 1000 * 2 ** Math.max(0, attempt - 1));
	return Math.round(base * (1 + (Math.random() * 2 - 1) * 0.3));
}

/** The wait before retry `retry` (0-based): the plan throttles' backoff, capped at 4 s. */
export function backoffMs(retry: number): number {
	return throttleBackoffMs(retry + 1, 4000);
}

/** Seconds or an HTTP date, as the vendor SDKs accept it. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	const seconds = Number(value);
	if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Whether a request that failed this way may be sent again (nothing was billed, or it is a read). */
export function isRetryable(kind: RequestKind, failure: ApiFailure): boolean {
	if (failure.status === 0) {
		return kind === 'read' || NOT_SENT_CODES.has(failure.networkCode ?? '');
	}
	if (failure.status === 429) {
		return failure.details?.reason !== 'sb_runs_per_month';
	}
	if (kind === 'read') return failure.status >= 500 || failure.status < 300;
	return SAFE_WRITE_RETRY_STATUSES.has(failure.status);
}

/**
 * A write whose request may have reached the server, with no answer to tell what it did: no answer
 * at all, an answer that cannot be read, or a gateway that stopped waiting for webscrape.ai (504).
 */
export function outcomeUnknown(kind: RequestKind, failure: ApiFailure): boolean {
	if (kind === 'read') return false;
	if (failure.status === 0) return !NOT_SENT_CODES.has(failure.networkCode ?? '');
	return (failure.status >= 200 && failure.status < 300) || failure.status === GATEWAY_TIMEOUT;
}
