import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { refusalCauseOf } from '../core/validation';
import { endedRunFailureOf } from '../runs';
import { isOutcomeUnknown } from '../transport';

// As an AI tool, every outcome is an answer the model reads, never a throw. n8n's AI Agent 2.2
// gives the model an empty string for a tool that throws; 3 on n8n 1.x fails the whole execution;
// a node set to "Retry On Fail" would even be invoked again by n8n (a second billed run). So an
// error becomes one item, `{ error: text }`: what happened, what it cost, and what to do next, in
// words, without the item number, stack or anything the transport redacted.

/** Says what a call of this tool that ended in `error` means to a model, and what to do next. */
export function toolErrorText(error: unknown): string {
	const headline = clean(messageOf(error));
	const failedRun = endedRunFailureOf(error);
	if (failedRun) {
		const { runId, status, reason, creditsUsed, drift } = failedRun;
		if (drift !== undefined) {
			return `${headline}. The run completed, so it was billed (${creditsUsed ?? 'its'} credits), but its rows were not used because the page changed since the recipe was recorded. Calling this tool again starts, and bills, another run that will likely meet the same change: tell the user the recipe may need recording again in the webscrape.ai studio.`;
		}
		return `Run ${runId} ${status}: ${reason}. It cost nothing: webscrape.ai bills no failed or cancelled run. Calling this tool again starts a new run, billed if it completes: do so only if the reason suggests a new run can succeed; otherwise tell the user.`;
	}
	const advice = clean(descriptionOf(error));
	if (isOutcomeUnknown(error)) {
		// Its answer, and with it any run ID, was lost.
		return `${headline}. It was not sent again. Do not call this tool again for the same request: that could start, and bill, a second run or request. Tell the user to look on the webscrape.ai dashboard; a run found there can be fetched by its ID with the tool that gets a webscrape.ai run, at no cost.`;
	}
	const refusal = refusalCauseOf(error);
	if (refusal === 'setting' || (refusal && /^Option "/.test(headline)))
		return `${headline}. ${sentence(advice)}This is a setting of the tool in the workflow, not an argument of the call: nothing was sent or billed; tell the user to fix it.`;
	if (refusal === 'account')
		return `${headline}. ${sentence(withoutWorkflowAdvice(advice))}Nothing was sent to webscrape.ai and nothing was billed. Calling again will be refused the same way until that changes: tell the user.`;
	if (refusal === 'input')
		return `${headline}. ${sentence(advice)}Nothing was sent to webscrape.ai and nothing was billed. Call the tool again with a corrected value.`;
	if (error instanceof NodeApiError) {
		return `${headline}. ${sentence(withoutWorkflowAdvice(advice))}${apiErrorNext(error)}`;
	}
	return `${headline}. ${sentence(withoutWorkflowAdvice(advice))}`.trim();
}

/** The answer item for `error`, paired with its input item. */
export function toolErrorAnswer(error: unknown, itemIndex: number): INodeExecutionData {
	return { json: { error: toolErrorText(error) }, pairedItem: { item: itemIndex } };
}

/**
 * Runs an operation as a tool: its items, each error item (continue-on-fail) turned into an
 * answer, or, when it throws, one answer for the call.
 */
export async function answeringAsTool(
	context: IExecuteFunctions,
	operation: () => Promise<INodeExecutionData[]>,
): Promise<INodeExecutionData[]> {
	let output: INodeExecutionData[];
	try {
		output = await operation();
	} catch (error) {
		return [toolErrorAnswer(error, 0)];
	}
	return output.map((item, index) =>
		item.error ? toolErrorAnswer(item.error, pairedIndex(item) ?? index) : item,
	);
}

function pairedIndex(item: INodeExecutionData): number | undefined {
	const paired = Array.isArray(item.pairedItem) ? item.pairedItem[0] : item.pairedItem;
	return typeof paired === 'object' && paired ? paired.item : undefined;
}

/** What the model can do after an API error, by its HTTP status. */
function apiErrorNext(error: NodeApiError): string {
	const status = Number(error.httpCode ?? 0);
	const text = `${error.message} ${error.description ?? ''}`;
	if (status === 401 || status === 403)
		return 'Calling again will fail the same way: tell the user to fix the WebScrape AI credential in n8n.';
	if (status === 402)
		return 'Nothing was billed. Calling again will fail the same way until the account is topped up: tell the user.';
	if (status === 404) return 'Nothing was billed. Call the tool again with the right ID.';
	if (status === 409)
		return 'Nothing was billed. Calling again will fail the same way: tell the user.';
	if (status === 429) {
		if (/quota/i.test(text))
			return 'Nothing was billed. Calling again will fail until older runs leave the 30-day window: tell the user.';
		if (/in flight at once/i.test(text))
			return 'Nothing was billed. Try again once a run in progress has ended (a run takes up to 15 minutes).';
		return 'Nothing was billed. Try again in a minute, not sooner.';
	}
	if (status === 422)
		return 'Nothing was billed. Call again with a simpler schema or a more specific prompt.';
	if (status >= 500 || status === 0)
		return 'Nothing was billed (failed requests cost nothing). You may call again in a minute.';
	return 'Nothing was billed.';
}

function messageOf(error: unknown): string {
	if (error instanceof Error) return error.message;
	return typeof error === 'string' ? error : 'The call failed';
}

function descriptionOf(error: unknown): string {
	const description = (error as { description?: unknown } | undefined)?.description;
	return typeof description === 'string' ? description : '';
}

/** Without the item number (one call, one item) and trailing punctuation. */
function clean(text: string): string {
	return text
		.replace(/\s*\[item \d+\]/g, '')
		.replace(/\s+/g, ' ')
		.trim()
		.replace(/[.\s]+$/, '');
}

function sentence(text: string): string {
	return text ? `${text.replace(/[.\s]+$/, '')}. ` : '';
}

/** Advice meant for a workflow's builder (its options and error output), not for a model. */
function withoutWorkflowAdvice(text: string): string {
	return text
		.split(/(?<=\.)\s+/)
		.filter(
			(part) =>
				!/Continue \(using error output\)|Loop Over Items|"Concurrency"|"Check Quota First"/.test(
					part,
				),
		)
		.join(' ');
}
