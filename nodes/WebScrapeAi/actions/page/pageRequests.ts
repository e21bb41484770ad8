import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { prepareItems } from '../../batch/batch';
import { BilledBatch } from '../../batch/billedBatch';
import { PAGE_CREDITS } from '../../budget/creditBudget';
import { runsAsTool } from '../../core/asTool';
import { numberOption } from '../../core/validation';
import { isHttpUrl } from '../../transport';

// The page engine Scrape and Extract share: one billed page request per item, through the one path
// of billed requests (BilledBatch). Their fields are in fields.ts.

/** Page requests are quick; a few at a time keeps under typical plan concurrency caps. */
export const DEFAULT_PAGE_CONCURRENCY = 5;
export const DEFAULT_PAGE_TIMEOUT_S = 300;

/** One item's page request, checked before anything is sent. */
interface PreparedPage {
	body: IDataObject;
	timeoutMs: number;
	worst: number;
	concurrency: number;
}

/**
 * Sends one page request per input item: its URL, what `buildBody` adds (it checks the item's other
 * parameters, before anything is sent) and the options set, under their API names, and outputs the
 * `data` object plus the credits it cost. Items wait out the plan's per-minute and concurrency
 * limits, each for at most its Timeout.
 */
export async function executePageRequests(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	path: '/scrape' | '/smartscraper',
	optionFields: Record<string, string>,
	buildBody: (itemIndex: number) => IDataObject,
): Promise<INodeExecutionData[]> {
	const { prepared, outcomes } = prepareItems(this, items.length, (itemIndex) =>
		preparePage(this, itemIndex, path, optionFields, buildBody),
	);
	// Batch-wide settings (Concurrency, the budget), as on Recipe → Run: the first valid item's.
	const firstValid = Math.max(
		0,
		prepared.findIndex((page) => page !== undefined),
	);
	const billed = new BilledBatch(this, {
		operation: path,
		what: 'page',
		repeatText: {
			message: () =>
				'This page was already sent to webscrape.ai by an earlier attempt of this execution, so it was not sent again',
			description:
				'n8n ran this execution again, most likely because the worker running it stopped or restarted (queue mode). The first attempt sent (or was sending) this request and it is billed once; its answer was lost with that attempt. Run the node again if you still need the result.',
		},
		itemCount: items.length,
		firstItem: firstValid,
		concurrency: prepared[firstValid]?.concurrency ?? DEFAULT_PAGE_CONCURRENCY,
	});
	const worstCases = prepared.map((page) => page?.worst ?? 0);
	await billed.open(worstCases);
	// Page prices are exact: a batch that cannot fit is refused whole unless errors go on.
	if (billed.budget.active && !this.continueOnFail() && !runsAsTool(this)) {
		const refusal = billed.budget.batchRefusal(this.getNode(), worstCases);
		if (refusal) throw refusal;
	}
	return await billed.run(
		outcomes,
		async (itemIndex, stop) =>
			await sendPage(billed, path, prepared[itemIndex] as PreparedPage, itemIndex, stop),
	);
}

/** Reads and checks item `itemIndex`'s page request. */
function preparePage(
	context: IExecuteFunctions,
	itemIndex: number,
	path: '/scrape' | '/smartscraper',
	optionFields: Record<string, string>,
	buildBody: (itemIndex: number) => IDataObject,
): PreparedPage {
	const node = context.getNode();
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const timeoutS = numberOption(
		node,
		options.timeout,
		'Timeout',
		itemIndex,
		{ min: 0, minExclusive: true },
		DEFAULT_PAGE_TIMEOUT_S,
	);
	const website_url = pageUrl(node, context.getNodeParameter('url', itemIndex), itemIndex);
	const body: IDataObject = { website_url, ...buildBody(itemIndex) };
	mapOptions(options, optionFields, body);
	const worst = PAGE_CREDITS[path][body.stealth === true ? 'stealth' : 'plain'];
	const concurrency = numberOption(
		node,
		options.concurrency,
		'Concurrency',
		itemIndex,
		{ min: 1, max: 1000, integer: true },
		DEFAULT_PAGE_CONCURRENCY,
	);
	return { body, timeoutMs: timeoutS * 1000, worst, concurrency };
}

/** One page request through the billed path; its output is the answer's data and its cost. */
async function sendPage(
	billed: BilledBatch,
	path: '/scrape' | '/smartscraper',
	{ body, timeoutMs, worst }: PreparedPage,
	itemIndex: number,
	stop: AbortSignal,
): Promise<INodeExecutionData[]> {
	const wait = {
		itemIndex,
		deadline: Date.now() + timeoutMs,
		timeoutMs,
		stop,
		what: 'send the request',
		unit: 'requests in flight',
	};
	const request = { method: 'POST' as const, path, body, kind: 'write' as const };
	return await billed.send(
		{ request: { ...request, subject: { kind: 'page' as const } }, wait, worst },
		async (answer) => {
			const json = {
				...answer.data,
				credits_used: answer.credits_used,
				credits_remaining: answer.credits_remaining,
			};
			return [{ json, pairedItem: { item: itemIndex } }];
		},
	);
}

/** An absolute http(s) URL, or an error naming the item and field; nothing is sent otherwise. */
function pageUrl(node: INode, value: unknown, itemIndex: number): string {
	const text = typeof value === 'string' ? value.trim() : '';
	if (!isHttpUrl(text)) {
		throw new NodeOperationError(
			node,
			`URL ${text ? `"${text.length > 60 ? `${text.slice(0, 60)}…` : text}" ` : ''}is not an absolute http(s) URL [item ${itemIndex}]`,
			{ itemIndex, description: 'Use a full address such as https://example.com/products.' },
		);
	}
	return text;
}

/** "a, b" or ["a", "b"] (as AI agents pass it) → ["a", "b"]; empty → undefined. */
function tagList(value: unknown): string[] | undefined {
	const parts = Array.isArray(value)
		? value.map(String)
		: typeof value === 'string'
			? value.split(',')
			: [];
	const tags = parts.map((tag) => tag.trim()).filter((tag) => tag !== '');
	return tags.length > 0 ? tags : undefined;
}

/** Name/value pairs from the editor, or a plain object from an AI agent → a headers object. */
function headerObject(value: unknown): IDataObject | undefined {
	if (!value || typeof value !== 'object') return undefined;
	const pairs = (value as IDataObject).header;
	const headers: IDataObject = {};
	if (Array.isArray(pairs)) {
		for (const pair of pairs as IDataObject[]) {
			const name = String(pair?.name ?? '').trim();
			if (name) headers[name] = String(pair.value ?? '');
		}
	} else if (pairs === undefined) {
		for (const [name, inner] of Object.entries(value as IDataObject)) {
			if (name.trim()) headers[name.trim()] = String(inner ?? '');
		}
	}
	return Object.keys(headers).length > 0 ? headers : undefined;
}

/** Copies the options the user set into the request body under the API's names. */
function mapOptions(options: IDataObject, names: Record<string, string>, body: IDataObject): void {
	for (const [option, field] of Object.entries(names)) {
		const value = options[option];
		if (value === undefined || value === null || value === '') continue;
		if (option === 'includeTags' || option === 'excludeTags') {
			const tags = tagList(value);
			if (tags) body[field] = tags;
		} else if (option === 'headers') {
			const headers = headerObject(value);
			if (headers) body[field] = headers;
		} else {
			body[field] = value;
		}
	}
}
