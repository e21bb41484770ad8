/**
 * The context n8n hands the action node, for unit tests of what sends billed requests (batch/,
 * tool/) on the sources: n8n's processed-data helpers over the processed_data model
 * (processedData.ts), the node's options, the credential, and webscrape.ai's answers scripted per
 * request (what n8n's httpRequestWithAuthentication would hand back, or throw). Imports only
 * n8n-workflow's types and the other harness modules.
 */
import type { IDataObject, IExecuteFunctions, IHttpRequestOptions } from 'n8n-workflow';

import { fakeKey } from '../simulator';
import type { ProcessedDataTable } from './processedData';
import { nodeContextOn } from './processedData';

/** What n8n's client hands back with returnFullResponse and ignoreHttpStatusErrors. */
export interface Answer {
	statusCode: number;
	headers?: IDataObject;
	body: unknown;
}

/** The credential's key: made up, never written out (the simulator's shape). */
export const API_KEY = fakeKey('unit');
export const BASE_URL = 'http://127.0.0.1:9/v1';

/** webscrape.ai's success envelope. */
export function completed(data: IDataObject, credits?: { used: number; remaining?: number }) {
	return {
		statusCode: 200,
		body: JSON.stringify({
			status: 'completed',
			data,
			...(credits ? { credits_used: credits.used, credits_remaining: credits.remaining } : {}),
		}),
	};
}

/** The dispatch envelope of Recipe → Run. */
export function queued(runId: string): Answer {
	return { statusCode: 202, body: JSON.stringify({ status: 'queued', data: { run_id: runId } }) };
}

/** webscrape.ai's error envelope. */
export function refused(statusCode: number, code: string, message: string, details?: IDataObject) {
	return {
		statusCode,
		body: JSON.stringify({ status: 'error', error: { code, message, details } }),
	};
}

/** A connection that failed as Node.js reports it (`ECONNRESET`: after sending; `ECONNREFUSED`: never sent). */
export function networkError(code: string): Error {
	return Object.assign(new Error(`request failed: ${code}`), { code });
}

export interface ActionContextOptions {
	/** The node's "options" collection (Max Credits, Keep at Least, …). */
	options?: IDataObject;
	/** Other parameters by name. */
	parameters?: IDataObject;
	/** `…webScrapeAiTool` makes it the tool variant. */
	nodeType?: string;
	executionId?: string;
	/** The workflow's ID (default `wf1`). */
	workflowId?: string;
	/** The node's On Error is "Continue". */
	continueOnFail?: boolean;
	/** webscrape.ai's answer to each request (throw: the connection failed). */
	answer?: (request: IHttpRequestOptions, index: number) => Answer | Promise<Answer>;
}

export interface ActionContext {
	context: IExecuteFunctions;
	/** Every request handed to n8n's client, in order. */
	requests: IHttpRequestOptions[];
	/** The execution's cancel: what the user's Stop does. */
	cancel: AbortController;
	/** Hints the node added to the output pane. */
	hints: string[];
}

export function actionContextOn(
	table: ProcessedDataTable,
	settings: ActionContextOptions = {},
): ActionContext {
	const base = nodeContextOn(table, undefined, { workflowId: settings.workflowId }) as unknown as {
		helpers: IDataObject;
		getNode: () => IDataObject;
	};
	const requests: IHttpRequestOptions[] = [];
	const hints: string[] = [];
	const cancel = new AbortController();
	const node = { ...base.getNode(), type: settings.nodeType ?? base.getNode().type };
	const answer = settings.answer ?? (() => completed({}));
	const parameters: IDataObject = { options: settings.options ?? {}, ...settings.parameters };
	const context = {
		...base,
		getNode: () => node,
		getExecutionId: () => settings.executionId ?? 'exec1',
		getNodeParameter: (name: string, _item: number, fallback?: unknown) =>
			name in parameters ? parameters[name] : fallback,
		getCredentials: async () => ({ apiKey: API_KEY, baseUrl: BASE_URL }),
		getExecutionCancelSignal: () => cancel.signal,
		continueOnFail: () => settings.continueOnFail ?? false,
		addExecutionHints: (...added: Array<{ message: string; location?: string }>) =>
			hints.push(
				...added.map((hint) =>
					hint.location === 'outputPane' ? hint.message : `${hint.location}: ${hint.message}`,
				),
			),
		helpers: {
			...base.helpers,
			httpRequestWithAuthentication: async (_credential: string, request: IHttpRequestOptions) => {
				requests.push(request);
				return await answer(request, requests.length - 1);
			},
		},
	} as unknown as IExecuteFunctions;
	return { context, requests, cancel, hints };
}
