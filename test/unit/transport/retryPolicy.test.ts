/** Which failures are retried, and which leave a billed request's outcome unknown. */
import type { ApiFailure } from '../../../nodes/WebScrapeAi/transport/errors';
import type { RequestKind } from '../../../nodes/WebScrapeAi/transport/retryPolicy';
import {
	backoffMs,
	isRetryable,
	outcomeUnknown,
	parseRetryAfter,
} from '../../../nodes/WebScrapeAi/transport/retryPolicy';

const failure = (status: number, extra: Partial<ApiFailure> = {}): ApiFailure => ({
	status,
	retries: 0,
	...extra,
});
const perMinute = { details: { reason: 'rate_limit_per_min' } };
const quota = { details: { reason: 'sb_runs_per_month' } };

// [what, kind, failure, retried, outcome unknown]
const cases: Array<[string, RequestKind, ApiFailure, boolean, boolean]> = [
	['read, connection reset', 'read', failure(0, { networkCode: 'ECONNRESET' }), true, false],
	['read, 500', 'read', failure(500), true, false],
	['read, 504', 'read', failure(504), true, false],
	['read, a garbled 200', 'read', failure(200), true, false],
	['read, 404', 'read', failure(404), false, false],
	[
		'dispatch, nothing listening',
		'dispatch',
		failure(0, { networkCode: 'ECONNREFUSED' }),
		true,
		false,
	],
	['dispatch, host not found', 'dispatch', failure(0, { networkCode: 'ENOTFOUND' }), true, false],
	...['EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].map(
		(networkCode): [string, RequestKind, ApiFailure, boolean, boolean] => [
			`write, never sent (${networkCode})`,
			'write',
			failure(0, { networkCode }),
			true,
			false,
		],
	),
	['write, no network code at all', 'write', failure(0), false, true],
	['read, 300', 'read', failure(300), false, false],
	['read, 299 without the envelope', 'read', failure(299), true, false],
	['read, 429 without details', 'read', failure(429), true, false],
	['write, 200 without the envelope', 'write', failure(200), false, true],
	['write, 199', 'write', failure(199), false, false],
	['write, 300', 'write', failure(300), false, false],
	[
		'dispatch, reset after sending',
		'dispatch',
		failure(0, { networkCode: 'ECONNRESET' }),
		false,
		true,
	],
	['dispatch, timed out', 'dispatch', failure(0, { networkCode: 'ETIMEDOUT' }), false, true],
	[
		'dispatch, an unknown network error',
		'dispatch',
		failure(0, { networkCode: 'ENETWORK' }),
		false,
		true,
	],
	['dispatch, a garbled 202', 'dispatch', failure(202), false, true],
	['dispatch, 500', 'dispatch', failure(500), true, false],
	['dispatch, 502', 'dispatch', failure(502), true, false],
	['dispatch, 503', 'dispatch', failure(503), true, false],
	['dispatch, 504 (a gateway stopped waiting)', 'dispatch', failure(504), false, true],
	['dispatch, 429 per minute', 'dispatch', failure(429, perMinute), true, false],
	['dispatch, 429 monthly quota', 'dispatch', failure(429, quota), false, false],
	['dispatch, 402', 'dispatch', failure(402), false, false],
	['write, reset after sending', 'write', failure(0, { networkCode: 'ECONNRESET' }), false, true],
	['write, 504', 'write', failure(504), false, true],
	['write, 500', 'write', failure(500), true, false],
	['write, 422', 'write', failure(422), false, false],
];

test.each(cases)('%s: retried %s, outcome unknown %s', (_what, kind, given, retried, unknown) => {
	expect(isRetryable(kind, given)).toBe(retried);
	expect(outcomeUnknown(kind, given)).toBe(unknown);
	// Never both: a request that may have been billed is never sent again.
	expect(retried && unknown).toBe(false);
});

test.each([
	['2', 2000],
	['0', 0],
	['0.05', 50],
	['', undefined],
	['   ', undefined],
	[' 3 ', 3000],
	['soon', undefined],
	['Thu, 01 Jan 1970 00:00:10 GMT', 5000],
	['Thu, 01 Jan 1970 00:00:01 GMT', 0],
])('Retry-After "%s" → %s ms', (value, ms) => {
	expect(parseRetryAfter(value, 5000)).toBe(ms);
});

test('no Retry-After header: no wait asked for', () => {
	expect(parseRetryAfter(undefined)).toBeUndefined();
});

test.each([
	[0, 700, 1300],
	[1, 1400, 2600],
	[2, 2800, 5200],
	[5, 2800, 5200],
])('retry %i waits %i-%i ms (1, 2, 4 s ±30 %)', (retry, low, high) => {
	for (let sample = 0; sample < 200; sample++) {
		const ms = backoffMs(retry);
		expect(ms).toBeGreaterThanOrEqual(low);
		expect(ms).toBeLessThanOrEqual(high);
	}
});

test.each([
	[0, 700],
	[0.25, 850],
	[0.5, 1000],
	[0.75, 1150],
	[0.999999, 1300],
])('the jitter: a random draw of %f makes the first retry wait %i ms', (draw, ms) => {
	const random = jest.spyOn(Math, 'random').mockReturnValue(draw);
	try {
		expect(backoffMs(0)).toBe(ms);
	} finally {
		random.mockRestore();
	}
});
