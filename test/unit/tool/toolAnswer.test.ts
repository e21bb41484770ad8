/**
 * tool/toolAnswer.ts: what a model reads for each kind of error a tool call can end with, built from
 * the errors the layers below raise (their marks included), on the sources. The engine tests
 * (test/tool/ai-tool.test.ts) drive the same answers through n8n-core's tool path.
 */
import type { INode } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { markRefusedBeforeSending } from '../../../nodes/WebScrapeAi/core/validation';
import type { RefusalCause } from '../../../nodes/WebScrapeAi/core/validation';
import { parseRunSettings, shapeEndedRun } from '../../../nodes/WebScrapeAi/runs';
import { toolErrorAnswer, toolErrorText } from '../../../nodes/WebScrapeAi/tool/toolAnswer';

const node = { id: 'n', name: 'WebScrape AI Tool', type: 'x.webScrapeAiTool' } as INode;

function refused(message: string, description: string, cause?: RefusalCause) {
	return markRefusedBeforeSending(new NodeOperationError(node, message, { description }), cause);
}

function apiError(httpCode: string, message: string, description = '') {
	return new NodeApiError(node, { message }, { httpCode, message, description });
}

function failedRun(data: Record<string, unknown>): unknown {
	const settings = parseRunSettings(node, 0, true, {
		waitForCompletion: true,
		output: 'items',
		fileFormat: 'jsonl',
		binaryPropertyName: 'data',
		options: {},
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
	['anything else: its message', new Error('Something odd [item 3]'), /^Something odd\.$/],
	['a thrown string', 'plain words', /^plain words\.$/],
])('%s', (_what, error, expected) => {
	const text = toolErrorText(error);
	expect(text).toMatch(expected);
	expect(text).not.toMatch(/\[item \d+\]|\n\s+at /);
});

test('the answer item carries the text and pairs with its input item', () => {
	expect(toolErrorAnswer(new Error('Gone'), 4)).toEqual({
		json: { error: 'Gone.' },
		pairedItem: { item: 4 },
	});
});
