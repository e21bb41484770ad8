import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

/** What went wrong with one API call, already stripped of anything secret. */
export interface ApiFailure {
	/** HTTP status, or 0 when no response arrived. */
	status: number;
	/** The API's stable `error.code`, when the body had one. */
	code?: string;
	/** The API's human-readable `error.message` (for logs and descriptions only). */
	apiMessage?: string;
	details?: JsonObject;
	requestId?: string;
	/** Set when the body was not the JSON the API documents (an HTML page from a proxy, say). */
	rawSnippet?: string;
	contentType?: string;
	/** Node.js/axios error code for failures without a response (ECONNRESET, ...). */
	networkCode?: string;
	/** How many times the call was retried before giving up. */
	retries: number;
}

/** Names the thing a request is about, so a 404 can say which id was not found. */
export interface RequestSubject {
	kind: 'recipe' | 'run' | 'page' | 'usage';
	id?: string;
}

const MAX_SNIPPET = 200;

export function redact(text: string, secrets: string[]): string {
	let result = text;
	for (const secret of secrets) {
		if (secret && secret.length >= 4) result = result.split(secret).join('***');
	}
	return result;
}

/** A short, tag-free excerpt of an unexpected body, for the error description. */
export function snippetOf(body: string): string {
	const text = body
		.replace(/<script[\s\S]*?<\/script>/gi, ' ')
		.replace(/<style[\s\S]*?<\/style>/gi, ' ')
		.replace(/<[^>]+>/g, ' ')
		.replace(/\s+/g, ' ')
		.trim();
	return text.length > MAX_SNIPPET ? `${text.slice(0, MAX_SNIPPET)}…` : text;
}

function num(details: JsonObject | undefined, key: string): string | undefined {
	const value = details?.[key];
	return typeof value === 'number' || typeof value === 'string' ? String(value) : undefined;
}

function subjectLabel(subject: RequestSubject | undefined): string {
	if (!subject) return 'The resource';
	if (subject.kind === 'recipe') return `Recipe "${subject.id}"`;
	if (subject.kind === 'run') return `Run "${subject.id}"`;
	return 'The resource';
}

function rateLimitHeadline(details: JsonObject | undefined): [string, string] {
	const reason = details?.reason;
	if (reason === 'sb_runs_per_month') {
		const used = num(details, 'used');
		const limit = num(details, 'limit');
		const counts = used && limit ? `: ${used} of ${limit} runs used in the last 30 days` : '';
		return [
			`Your SmartBrowse run quota is used up${counts}`,
			'The quota covers a rolling 30-day window, so retrying soon will not help. Upgrade the plan for more runs, or wait until older runs leave the window.',
		];
	}
	if (reason === 'max_concurrent_requests') {
		const max = num(details, 'max_concurrent');
		return [
			`Too many webscrape.ai requests in flight at once${max ? ` (your plan allows ${max})` : ''}`,
			'Lower the node\'s "Concurrency" option to your plan\'s limit, or upgrade the plan.',
		];
	}
	if (reason === 'rate_limit_per_min') {
		const limit = num(details, 'limit_per_min');
		return [
			`webscrape.ai rate limit reached${limit ? `: more than ${limit} requests per minute` : ''}`,
			'Slow down (for example with a Loop Over Items node and a Wait), or upgrade the plan.',
		];
	}
	return ['webscrape.ai rate limit reached', 'Slow down, or upgrade the plan.'];
}

/** A failure's headline and advice, in words a user can act on. */
interface Described {
	message: string;
	advice: string;
}

/** What each `error.code` the API documents means to the user. */
const BY_CODE: Record<string, (failure: ApiFailure, subject?: RequestSubject) => Described> = {
	insufficient_credits: ({ details }) => {
		const balance = num(details, 'balance');
		const required = num(details, 'required');
		const amounts =
			balance !== undefined && required !== undefined
				? `: balance ${balance}, this request needs ${required}`
				: '';
		return {
			message: `Not enough webscrape.ai credits${amounts}`,
			advice: 'Top up in the webscrape.ai dashboard (Billing). Failed requests cost nothing.',
		};
	},
	email_verification_required: () => ({
		message: 'Verify your email address with webscrape.ai before spending credits',
		advice: 'Open the verification email from webscrape.ai, then run the node again.',
	}),
	forbidden: () => ({
		message: 'This webscrape.ai API key is not allowed to do that',
		advice: "Check the key's scope in the dashboard and that the resource belongs to its account.",
	}),
	not_found: (_failure, subject) => ({
		message: `${subjectLabel(subject)} was not found`,
		advice:
			subject?.kind === 'recipe'
				? 'Copy the recipe ID from the webscrape.ai studio. A recipe of another account is not found either.'
				: 'Check the ID. A run of another account is not found either, and old runs may expire.',
	}),
	account_deletion_pending: ({ details }) => {
		const when = num(details, 'deletion_scheduled_for');
		return {
			message: `Your webscrape.ai account is scheduled for deletion${when ? ` (${when})` : ''}`,
			advice: 'It cannot spend credits until you cancel the deletion in the dashboard.',
		};
	},
	conflict: () => ({
		message: 'webscrape.ai refused: the account or resource is in a state that does not allow this',
		advice: 'Check the account in the webscrape.ai dashboard.',
	}),
	validation_failed: () => ({
		message: 'The page did not match your schema after one repair attempt',
		advice:
			'Loosen the Output Schema (fewer required fields, simpler types) or make the prompt more specific. Failed requests cost nothing.',
	}),
	rate_limited: ({ details }) => {
		const [message, advice] = rateLimitHeadline(details);
		return { message, advice };
	},
	invalid_request: ({ apiMessage }) => ({
		message: `webscrape.ai rejected the request as invalid${apiMessage ? `: ${apiMessage}` : ''}`,
		advice: "Check the node's parameters.",
	}),
};

/** A failure without an answer of the API: no connection, a timeout, or a body that is not its JSON. */
function transportFailure(failure: ApiFailure): Described | undefined {
	const { status, networkCode } = failure;
	if (networkCode !== undefined && status === 0) {
		if (networkCode === 'ECONNABORTED' || networkCode === 'ETIMEDOUT') {
			return {
				message: 'webscrape.ai did not answer in time',
				advice: 'The service may be slow or unreachable from this machine. Try again later.',
			};
		}
		return {
			message: 'Could not reach webscrape.ai',
			advice:
				"Check the Base URL in the credential and this machine's network connection, then run the node again.",
		};
	}
	if (failure.rawSnippet === undefined) return undefined;
	const type = failure.contentType ? `, ${failure.contentType.split(';')[0]}` : '';
	return {
		message: `webscrape.ai answered with an unexpected response (HTTP ${status}${type})`,
		advice:
			'This usually comes from a proxy or gateway in front of the API, not from webscrape.ai itself. Check the Base URL in the credential; if it is right, try again later.',
	};
}

/** The headline and the advice for a failure, in words a user can act on. */
function describeFailure(failure: ApiFailure, subject?: RequestSubject): Described {
	const { code, status } = failure;
	const transport = transportFailure(failure);
	if (transport) return transport;
	if (code === 'unauthorized' || (status === 401 && !code)) {
		return {
			message: 'webscrape.ai rejected the API key',
			advice:
				'Check the API key in the "WebScrape AI API" credential: it may be mistyped, or revoked in the webscrape.ai dashboard (API Keys).',
		};
	}
	const byCode = code !== undefined && Object.hasOwn(BY_CODE, code) ? BY_CODE[code] : undefined;
	if (byCode) return byCode(failure, subject);
	if (status >= 500 || code === 'internal_error' || code === 'service_unavailable') {
		return {
			message: `webscrape.ai had a server error (HTTP ${status}${code ? `, ${code}` : ''})`,
			advice:
				'webscrape.ai says failed requests cost nothing and are safe to retry. Try again later.',
		};
	}
	return {
		message: `webscrape.ai returned HTTP ${status}${code ? ` (${code})` : ''}`,
		advice: failure.apiMessage ?? "Check the node's parameters.",
	};
}

/**
 * Builds the error a user sees. The error carries only the sanitised failure, never the request
 * options, so the API key cannot travel with it.
 */
export function toNodeApiError(
	node: INode,
	failure: ApiFailure,
	options: {
		subject?: RequestSubject;
		itemIndex?: number;
		secrets: string[];
		/** Replaces the headline, e.g. for a dispatch whose outcome is unknown. */
		message?: string;
		/** Replaces the advice part of the description. */
		advice?: string;
	},
): NodeApiError {
	const described = describeFailure(failure, options.subject);
	const message = options.message ?? described.message;
	const parts = [options.advice ?? described.advice];
	if (failure.apiMessage && !message.includes(failure.apiMessage)) {
		parts.push(`webscrape.ai said: "${failure.apiMessage}".`);
	}
	if (failure.rawSnippet) parts.push(`The response began: "${failure.rawSnippet}".`);
	if (failure.networkCode) parts.push(`Network error: ${failure.networkCode}.`);
	if (failure.retries > 0) {
		parts.push(`Gave up after ${failure.retries} ${failure.retries === 1 ? 'retry' : 'retries'}.`);
	}
	if (failure.requestId)
		parts.push(`Request ID: ${failure.requestId} (quote it to webscrape.ai support).`);

	const cause: JsonObject = { status: failure.status };
	if (failure.code) cause.code = failure.code;
	if (failure.requestId) cause.request_id = failure.requestId;
	if (failure.details) cause.details = failure.details;

	const error = new NodeApiError(node, cause, {
		message: redact(message, options.secrets),
		description: redact(parts.join(' '), options.secrets),
		httpCode: failure.status ? String(failure.status) : undefined,
		itemIndex: options.itemIndex,
	});
	return error;
}
