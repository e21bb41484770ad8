/**
 * transport/errors.ts: what the user reads for each way a request can fail (the headline, the
 * advice and what follows it in the description), that no secret reaches it, and the excerpt of a
 * body that is not the API's JSON. Table-driven, on the sources.
 */
import type { INode, JsonObject } from 'n8n-workflow';

import type { ApiFailure, RequestSubject } from '../../../nodes/WebScrapeAi/transport/errors';
import { redact, snippetOf, toNodeApiError } from '../../../nodes/WebScrapeAi/transport/errors';
import { fakeKey } from '../../simulator';

const node = { id: 'n', name: 'WebScrape AI', type: 'x.webScrapeAi', typeVersion: 1 } as INode;
const KEY = fakeKey('errors');

function failure(status: number, more: Partial<ApiFailure> = {}): ApiFailure {
	return { status, retries: 0, ...more };
}
const rateLimited = (details: JsonObject) => failure(429, { code: 'rate_limited', details });

test.each<[string, ApiFailure, RequestSubject | undefined, string, string]>([
	[
		'a timeout',
		failure(0, { networkCode: 'ETIMEDOUT' }),
		undefined,
		'webscrape.ai did not answer in time',
		'The service may be slow or unreachable from this machine. Try again later. Network error: ETIMEDOUT.',
	],
	[
		'an aborted connection',
		failure(0, { networkCode: 'ECONNABORTED' }),
		undefined,
		'webscrape.ai did not answer in time',
		'The service may be slow or unreachable from this machine. Try again later. Network error: ECONNABORTED.',
	],
	[
		'no connection',
		failure(0, { networkCode: 'ECONNREFUSED', retries: 3 }),
		undefined,
		'Could not reach webscrape.ai',
		"Check the Base URL in the credential and this machine's network connection, then run the node again. Network error: ECONNREFUSED. Gave up after 3 retries.",
	],
	[
		'a proxy page',
		failure(502, {
			rawSnippet: 'Bad gateway',
			contentType: 'text/html; charset=utf-8',
			retries: 1,
		}),
		undefined,
		'webscrape.ai answered with an unexpected response (HTTP 502, text/html)',
		'This usually comes from a proxy or gateway in front of the API, not from webscrape.ai itself. Check the Base URL in the credential; if it is right, try again later. The response began: "Bad gateway". Gave up after 1 retry.',
	],
	[
		'an unreadable body without a content type',
		failure(200, { rawSnippet: '(empty body)' }),
		undefined,
		'webscrape.ai answered with an unexpected response (HTTP 200)',
		'This usually comes from a proxy or gateway in front of the API, not from webscrape.ai itself. Check the Base URL in the credential; if it is right, try again later. The response began: "(empty body)".',
	],
	[
		'a rejected key, with the request ID',
		failure(401, { code: 'unauthorized', requestId: 'req_1' }),
		undefined,
		'webscrape.ai rejected the API key',
		'Check the API key in the "WebScrape AI API" credential: it may be mistyped, or revoked in the webscrape.ai dashboard (API Keys). Request ID: req_1 (quote it to webscrape.ai support).',
	],
	[
		'a 401 without a code',
		failure(401, { apiMessage: 'nope' }),
		undefined,
		'webscrape.ai rejected the API key',
		'Check the API key in the "WebScrape AI API" credential: it may be mistyped, or revoked in the webscrape.ai dashboard (API Keys). webscrape.ai said: "nope".',
	],
	[
		'credits short, with the amounts',
		failure(402, { code: 'insufficient_credits', details: { balance: 2, required: '5' } }),
		undefined,
		'Not enough webscrape.ai credits: balance 2, this request needs 5',
		'Top up in the webscrape.ai dashboard (Billing). Failed requests cost nothing.',
	],
	[
		'credits short, the balance only',
		failure(402, { code: 'insufficient_credits', details: { balance: 2, required: true } }),
		undefined,
		'Not enough webscrape.ai credits',
		'Top up in the webscrape.ai dashboard (Billing). Failed requests cost nothing.',
	],
	[
		'credits short, the amount needed only',
		failure(402, { code: 'insufficient_credits', details: { required: 5 } }),
		undefined,
		'Not enough webscrape.ai credits',
		'Top up in the webscrape.ai dashboard (Billing). Failed requests cost nothing.',
	],
	[
		'no answer and no network code',
		failure(0),
		undefined,
		'webscrape.ai returned HTTP 0',
		"Check the node's parameters.",
	],
	[
		'service unavailable under 500',
		failure(429, { code: 'service_unavailable' }),
		undefined,
		'webscrape.ai had a server error (HTTP 429, service_unavailable)',
		'webscrape.ai says failed requests cost nothing and are safe to retry. Try again later.',
	],
	[
		'an unverified email',
		failure(403, { code: 'email_verification_required' }),
		undefined,
		'Verify your email address with webscrape.ai before spending credits',
		'Open the verification email from webscrape.ai, then run the node again.',
	],
	[
		'a forbidden key',
		failure(403, { code: 'forbidden' }),
		undefined,
		'This webscrape.ai API key is not allowed to do that',
		"Check the key's scope in the dashboard and that the resource belongs to its account.",
	],
	[
		'a recipe not found',
		failure(404, { code: 'not_found' }),
		{ kind: 'recipe', id: 'r1' },
		'Recipe "r1" was not found',
		'Copy the recipe ID from the webscrape.ai studio. A recipe of another account is not found either.',
	],
	[
		'a run not found',
		failure(404, { code: 'not_found' }),
		{ kind: 'run', id: 'run9' },
		'Run "run9" was not found',
		'Check the ID. A run of another account is not found either, and old runs may expire.',
	],
	[
		'something else not found',
		failure(404, { code: 'not_found' }),
		{ kind: 'page' },
		'The resource was not found',
		'Check the ID. A run of another account is not found either, and old runs may expire.',
	],
	[
		'not found, no subject',
		failure(404, { code: 'not_found' }),
		undefined,
		'The resource was not found',
		'Check the ID. A run of another account is not found either, and old runs may expire.',
	],
	[
		'an account being deleted, with the date',
		failure(409, {
			code: 'account_deletion_pending',
			details: { deletion_scheduled_for: 'May 1' },
		}),
		undefined,
		'Your webscrape.ai account is scheduled for deletion (May 1)',
		'It cannot spend credits until you cancel the deletion in the dashboard.',
	],
	[
		'an account being deleted, no date',
		failure(409, { code: 'account_deletion_pending' }),
		undefined,
		'Your webscrape.ai account is scheduled for deletion',
		'It cannot spend credits until you cancel the deletion in the dashboard.',
	],
	[
		'a conflict',
		failure(409, { code: 'conflict' }),
		undefined,
		'webscrape.ai refused: the account or resource is in a state that does not allow this',
		'Check the account in the webscrape.ai dashboard.',
	],
	[
		'a schema not met',
		failure(422, { code: 'validation_failed' }),
		undefined,
		'The page did not match your schema after one repair attempt',
		'Loosen the Output Schema (fewer required fields, simpler types) or make the prompt more specific. Failed requests cost nothing.',
	],
	[
		'the monthly quota, with counts',
		rateLimited({ reason: 'sb_runs_per_month', used: 50, limit: 50 }),
		undefined,
		'Your SmartBrowse run quota is used up: 50 of 50 runs used in the last 30 days',
		'The quota covers a rolling 30-day window, so retrying soon will not help. Upgrade the plan for more runs, or wait until older runs leave the window.',
	],
	[
		'the monthly quota, one count missing',
		rateLimited({ reason: 'sb_runs_per_month', used: 50 }),
		undefined,
		'Your SmartBrowse run quota is used up',
		'The quota covers a rolling 30-day window, so retrying soon will not help. Upgrade the plan for more runs, or wait until older runs leave the window.',
	],
	[
		"the plan's concurrency, with its cap",
		rateLimited({ reason: 'max_concurrent_requests', max_concurrent: 3 }),
		undefined,
		'Too many webscrape.ai requests in flight at once (your plan allows 3)',
		'Lower the node\'s "Concurrency" option to your plan\'s limit, or upgrade the plan.',
	],
	[
		"the plan's concurrency, no cap",
		rateLimited({ reason: 'max_concurrent_requests' }),
		undefined,
		'Too many webscrape.ai requests in flight at once',
		'Lower the node\'s "Concurrency" option to your plan\'s limit, or upgrade the plan.',
	],
	[
		'the per-minute limit, with its figure',
		rateLimited({ reason: 'rate_limit_per_min', limit_per_min: 60 }),
		undefined,
		'webscrape.ai rate limit reached: more than 60 requests per minute',
		'Slow down (for example with a Loop Over Items node and a Wait), or upgrade the plan.',
	],
	[
		'the per-minute limit, no figure',
		rateLimited({ reason: 'rate_limit_per_min' }),
		undefined,
		'webscrape.ai rate limit reached',
		'Slow down (for example with a Loop Over Items node and a Wait), or upgrade the plan.',
	],
	[
		'a rate limit of another reason',
		rateLimited({ reason: 'other' }),
		undefined,
		'webscrape.ai rate limit reached',
		'Slow down, or upgrade the plan.',
	],
	[
		'an invalid request, with what the API said (once)',
		failure(400, { code: 'invalid_request', apiMessage: 'url is required' }),
		undefined,
		'webscrape.ai rejected the request as invalid: url is required',
		"Check the node's parameters.",
	],
	[
		'an invalid request, nothing said',
		failure(400, { code: 'invalid_request' }),
		undefined,
		'webscrape.ai rejected the request as invalid',
		"Check the node's parameters.",
	],
	[
		'a server error with its code',
		failure(503, { code: 'service_unavailable', retries: 3 }),
		undefined,
		'webscrape.ai had a server error (HTTP 503, service_unavailable)',
		'webscrape.ai says failed requests cost nothing and are safe to retry. Try again later. Gave up after 3 retries.',
	],
	[
		'a server error without a code',
		failure(500),
		undefined,
		'webscrape.ai had a server error (HTTP 500)',
		'webscrape.ai says failed requests cost nothing and are safe to retry. Try again later.',
	],
	[
		'an internal error under 500',
		failure(418, { code: 'internal_error' }),
		undefined,
		'webscrape.ai had a server error (HTTP 418, internal_error)',
		'webscrape.ai says failed requests cost nothing and are safe to retry. Try again later.',
	],
	[
		'an undocumented code: the API message is the advice',
		failure(418, { code: 'teapot', apiMessage: 'short and stout' }),
		undefined,
		'webscrape.ai returned HTTP 418 (teapot)',
		'short and stout webscrape.ai said: "short and stout".',
	],
	[
		'an undocumented status, nothing said',
		failure(418),
		undefined,
		'webscrape.ai returned HTTP 418',
		"Check the node's parameters.",
	],
	[
		'a code named like an object property is not a documented code',
		failure(418, { code: 'toString' }),
		undefined,
		'webscrape.ai returned HTTP 418 (toString)',
		"Check the node's parameters.",
	],
])('%s', (_what, given, subject, message, description) => {
	const error = toNodeApiError(node, given, { subject, itemIndex: 2, secrets: [] });
	expect(error.message).toBe(message);
	expect(error.description).toBe(description);
	expect(error.httpCode).toBe(given.status ? String(given.status) : null);
	expect(error.context.itemIndex).toBe(2);
});

test('what the error carries for n8n: status, code, request ID and details, nothing of the request', () => {
	const details = { reason: 'rate_limit_per_min' };
	const error = toNodeApiError(
		node,
		failure(429, { code: 'rate_limited', requestId: 'req_2', details }),
		{ secrets: [] },
	);
	expect(error.errorResponse).toStrictEqual({
		status: 429,
		code: 'rate_limited',
		request_id: 'req_2',
		details,
	});
	const bare = toNodeApiError(node, failure(0, { networkCode: 'ECONNRESET' }), { secrets: [] });
	expect(bare.errorResponse).toStrictEqual({ status: 0 });
	expect(bare.httpCode).toBeNull();
});

test('a headline and advice given by the caller replace the described ones; the rest follows', () => {
	const error = toNodeApiError(
		node,
		failure(0, { networkCode: 'ECONNRESET', requestId: 'req_3' }),
		{ secrets: [], message: 'The run may have started', advice: 'Check the dashboard.' },
	);
	expect(error.message).toBe('The run may have started');
	expect(error.description).toBe(
		'Check the dashboard. Network error: ECONNRESET. Request ID: req_3 (quote it to webscrape.ai support).',
	);
});

test('the key never reaches the message or the description, whatever the API echoes', () => {
	const echoed = failure(400, {
		code: 'invalid_request',
		apiMessage: `bad key ${KEY}`,
		rawSnippet: undefined,
	});
	const error = toNodeApiError(node, echoed, { secrets: [KEY, ''] });
	expect(error.message).toBe('webscrape.ai rejected the request as invalid: bad key ***');
	expect(error.description).toBe("Check the node's parameters.");
	const other = toNodeApiError(node, failure(418, { apiMessage: `key=${KEY}` }), {
		secrets: [KEY],
	});
	expect(`${other.message} ${other.description}`).not.toContain(KEY);
	expect(other.description).toBe('key=*** webscrape.ai said: "key=***".');
});

test.each([
	['each occurrence', `a ${KEY} b ${KEY}`, [KEY], 'a *** b ***'],
	['every secret', 'one two', ['one', 'two'], 'one two'],
	['secrets of four characters or more', 'abcd abc', ['abcd', 'abc'], '*** abc'],
	['an empty secret is no secret', 'text', [''], 'text'],
])('redact: %s', (_what, text, secrets, expected) => {
	expect(redact(text, secrets)).toBe(expected);
});

test.each([
	[
		'tags, scripts and styles dropped, spaces folded',
		'<html><head><style>p{}</style><script>x()</script></head><body><h1>Bad  gateway</h1>\n<p>nginx</p></body></html>',
		'Bad gateway nginx',
	],
	['upper-case tags too', '<SCRIPT>x()</SCRIPT><STYLE>a</STYLE>ok', 'ok'],
	[
		'a script or style over lines',
		'a<script>\n  x = 1;\n</script>b<style> p { } </style>c',
		'a b c',
	],
	['tags part words', '<p>one</p><p>two</p>', 'one two'],
	['200 characters, then an ellipsis', 'x'.repeat(250), `${'x'.repeat(200)}…`],
	['exactly 200 characters: no ellipsis', 'y'.repeat(200), 'y'.repeat(200)],
	['an empty body', '   ', ''],
])('snippetOf: %s', (_what, body, expected) => {
	expect(snippetOf(body)).toBe(expected);
});
