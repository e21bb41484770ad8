/**
 * tool/toolAnswer.ts: what a model reads for each kind of error a tool call can end with, built from
 * the errors the layers below raise (their marks included), on the sources. The engine tests
 * (test/tool/ai-tool.test.ts) drive the same answers through n8n-core's tool path.
 */
import type { IDataObject, INode } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { markRefusedBeforeSending } from '../../../nodes/WebScrapeAi/core/validation';
import type { RefusalCause } from '../../../nodes/WebScrapeAi/core/validation';
import { parseRunSettings, shapeEndedRun } from '../../../nodes/WebScrapeAi/runs';
import {
	answeringAsTool,
	toolErrorAnswer,
	toolErrorText,
} from '../../../nodes/WebScrapeAi/tool/toolAnswer';
import { apiRequest } from '../../../nodes/WebScrapeAi/transport';
import { actionContextOn, networkError } from '../../harness/actionContext';
import { ProcessedDataTable } from '../../harness/processedData';

const node = { id: 'n', name: 'WebScrape AI Tool', type: 'x.webScrapeAiTool' } as INode;

function refused(message: string, description: string, cause?: RefusalCause) {
	return markRefusedBeforeSending(new NodeOperationError(node, message, { description }), cause);
}

function apiError(httpCode: string, message: string, description = '') {
	return new NodeApiError(node, { message }, { httpCode, message, description });
}

function failedRun(data: Record<string, unknown>, options: IDataObject = {}): unknown {
	const settings = parseRunSettings(node, 0, true, {
		waitForCompletion: true,
		output: 'items',
		fileFormat: 'jsonl',
		binaryPropertyName: 'data',
		options,
	});
	try {
		shapeEndedRun(node, { status: 'success', data } as never, settings, 0);
	} catch (error) {
		return error;
	}
	throw new Error('shapeEndedRun did not throw');
}

test.each<[string, unknown, RegExp]>([
	[
		'a bad argument: what is wrong, call again corrected',
		refused('Recipe ID "a/b" is not a valid ID [item 0]', 'IDs contain only letters.'),
		/^Recipe ID "a\/b" is not a valid ID\. IDs contain only letters\. Nothing was sent to webscrape\.ai and nothing was billed\. Call the tool again with a corrected value\.$/,
	],
	[
		'a setting of the node: the user fixes the workflow',
		refused('Max Credits needs the plan caps [item 0]', 'Turn it off.', 'setting'),
		/^Max Credits needs the plan caps\. Turn it off\. This is a setting of the tool in the workflow, not an argument of the call: nothing was sent or billed; tell the user to fix it\.$/,
	],
	[
		'an option named in the headline counts as a setting',
		refused('Option "Timeout" must be a positive number [item 0]', ''),
		/^Option "Timeout" must be a positive number\. This is a setting of the tool/,
	],
	[
		"the account's state: refused the same way, tell the user; no workflow advice",
		refused(
			'Only 0 SmartBrowse runs remain [item 0]',
			'50 of 50 runs were used. Send fewer items, or turn off the option "Check Quota First" to start as many as allowed.',
			'account',
		),
		/^Only 0 SmartBrowse runs remain\. 50 of 50 runs were used\. Nothing was sent to webscrape\.ai and nothing was billed\. Calling again will be refused the same way until that changes: tell the user\.$/,
	],
	[
		'401',
		apiError('401', 'webscrape.ai rejected the API key'),
		/tell the user to fix the WebScrape AI credential in n8n\.$/,
	],
	[
		'402',
		apiError('402', 'Not enough credits'),
		/^Not enough credits\. Nothing was billed\. Calling again will fail the same way until the account is topped up: tell the user\.$/,
	],
	['404', apiError('404', 'Run "x" was not found'), /Call the tool again with the right ID\.$/],
	['409', apiError('409', 'Conflict'), /Calling again will fail the same way: tell the user\.$/],
	[
		'429, the 30-day quota',
		apiError('429', 'Your SmartBrowse run quota is used up'),
		/until older runs leave the 30-day window: tell the user\.$/,
	],
	[
		'429, runs in flight',
		apiError('429', 'Too many runs in flight at once'),
		/once a run in progress has ended/,
	],
	[
		'429, the per-minute rate',
		apiError('429', 'Rate limit reached'),
		/Try again in a minute, not sooner\.$/,
	],
	['422', apiError('422', 'Schema not matched'), /a simpler schema or a more specific prompt\.$/],
	[
		'500',
		apiError('500', 'Server error'),
		/failed requests cost nothing\)\. You may call again in a minute\.$/,
	],
	['another status', apiError('418', 'Odd'), /^Odd\. Nothing was billed\.$/],
	[
		'a failed run: its reason, it cost nothing, another call starts another run',
		failedRun({ id: 'r1', run_status: 'failed', error: 'login wall', credits_used: 0 }),
		/^Run r1 failed: login wall\. It cost nothing: webscrape\.ai bills no failed or cancelled run\. Calling this tool again starts a new run, billed if it completes/,
	],
	[
		'a completed run whose page drifted: billed, likely to drift again, tell the user',
		failedRun(
			{ id: 'r2', run_status: 'completed', credits_used: 6, result: { drift: 0.4 } },
			{ maxDrift: 0.2 },
		),
		/^Run "r2": the page changed since the recipe was recorded \(drift 0\.4 is above the allowed 0\.2\)\. The run completed, so it was billed \(6 credits\), but its rows were not used because the page changed since the recipe was recorded\. Calling this tool again starts, and bills, another run that will likely meet the same change: tell the user the recipe may need recording again in the webscrape\.ai studio\.$/,
	],
	[
		'a drifted run without its credits',
		failedRun({ id: 'r3', run_status: 'completed', result: { drift: 1 } }, { maxDrift: 0 }),
		/so it was billed \(its credits\)/,
	],
	[
		'403',
		apiError('403', 'This webscrape.ai API key is not allowed to do that'),
		/^This webscrape\.ai API key is not allowed to do that\. Calling again will fail the same way: tell the user to fix the WebScrape AI credential in n8n\.$/,
	],
	[
		'no answer at all (no HTTP status)',
		new NodeApiError(node, { message: 'x' }, { message: 'Could not reach webscrape.ai' }),
		/^Could not reach webscrape\.ai\. x\. Nothing was billed \(failed requests cost nothing\)\. You may call again in a minute\.$/,
	],
	[
		'an option named inside the headline, not at its start, is an input',
		refused('Recipe ID and Option "x" clash [item 0]', 'Fix it.'),
		/Call the tool again with a corrected value\.$/,
	],
	[
		'spacing and item numbers folded away, trailing dots dropped',
		refused('  Bad   value[item 12] ..  ', 'Use a number.  Then try.. ', 'account'),
		/^Bad value\. Use a number\. Then try\. Nothing was sent/,
	],
	['anything else: its message', new Error('Something odd [item 3]'), /^Something odd\.$/],
	['neither an error nor words', { code: 7 }, /^The call failed\.$/],
	['nothing at all', undefined, /^The call failed\.$/],
	['a thrown string', 'plain words', /^plain words\.$/],
])('%s', (_what, error, expected) => {
	const text = toolErrorText(error);
	expect(text).toMatch(expected);
	expect(text).not.toMatch(/\[item \d+\]|\n\s+at /);
});

test('an answer whose outcome is unknown: not sent again, do not call again, look on the dashboard', async () => {
	const { context } = actionContextOn(new ProcessedDataTable(), {
		answer: () => {
			throw networkError('ECONNRESET');
		},
	});
	const lost = await apiRequest
		.call(context, { method: 'POST', path: '/scrape', kind: 'write' })
		.catch((error: unknown) => error);
	expect(toolErrorText(lost)).toBe(
		'webscrape.ai may have processed the request, but its answer was lost. It was not sent again. Do not call this tool again for the same request: that could start, and bill, a second run or request. Tell the user to look on the webscrape.ai dashboard; a run found there can be fetched by its ID with the tool that gets a webscrape.ai run, at no cost.',
	);
});

test('an operation run as a tool: its items, each error item an answer paired with its input, a throw one answer', async () => {
	const items = await answeringAsTool(node as never, async () => [
		{ json: { a: 1 } },
		{ json: {}, error: new NodeOperationError(node, 'Bad [item 1]'), pairedItem: { item: 7 } },
		{ json: {}, error: new NodeOperationError(node, 'Worse'), pairedItem: [{ item: 9 }] },
		{ json: {}, error: new NodeOperationError(node, 'Unpaired') },
	]);
	expect(items).toEqual([
		{ json: { a: 1 } },
		{ json: { error: 'Bad.' }, pairedItem: { item: 7 } },
		{ json: { error: 'Worse.' }, pairedItem: { item: 9 } },
		{ json: { error: 'Unpaired.' }, pairedItem: { item: 3 } },
	]);
	const thrown = await answeringAsTool(node as never, async () => {
		throw new NodeOperationError(node, 'Stopped');
	});
	expect(thrown).toEqual([{ json: { error: 'Stopped.' }, pairedItem: { item: 0 } }]);
});

test('the answer item carries the text and pairs with its input item', () => {
	expect(toolErrorAnswer(new Error('Gone'), 4)).toEqual({
		json: { error: 'Gone.' },
		pairedItem: { item: 4 },
	});
});
