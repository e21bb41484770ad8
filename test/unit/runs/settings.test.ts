/** A run's settings from one item's parameters: defaults, what each field turns into, bad values. */
import type { INode } from 'n8n-workflow';

import type { RunParameters, RunSettings } from '../../../nodes/WebScrapeAi/runs/settings';
import { parseRunSettings } from '../../../nodes/WebScrapeAi/runs/settings';

const node = { name: 'WebScrape AI', type: 'webScrapeAi', typeVersion: 1 } as INode;

/** The parameters of an untouched Recipe → Run (Wait for Completion on), with changes. */
function raw(changes: Partial<RunParameters> = {}): RunParameters {
	return {
		waitForCompletion: true,
		output: 'items',
		fileFormat: 'jsonl',
		binaryPropertyName: 'data',
		options: {},
		...changes,
	};
}

const DEFAULTS: RunSettings = {
	waitForCompletion: true,
	output: 'items',
	fileFormat: 'jsonl',
	csvColumns: [],
	binaryPropertyName: 'data',
	rowsPerItem: 1,
	timeoutMs: 960_000,
	pollMs: 2_000,
	maxPollMs: 10_000,
	onRunFailure: 'error',
	maxDrift: undefined,
	includeRunMetadata: false,
	concurrency: 10,
	checkQuota: true,
	asTool: false,
	toolRowLimit: 0,
	toolWaitMs: 0,
};

test('an untouched node: the documented defaults', () => {
	expect(parseRunSettings(node, 0, false, raw())).toEqual(DEFAULTS);
});

// [what, as a tool, parameters, the settings that differ from the defaults]
test.each<[string, boolean, RunParameters, Partial<RunSettings>]>([
	[
		'not waiting: the output is the run, whatever Output says',
		false,
		raw({ waitForCompletion: false, output: 'file' }),
		{ waitForCompletion: false, output: 'run' },
	],
	['waiting without an Output read: items', false, raw({ output: undefined }), {}],
	[
		'CSV columns: trimmed, empty ones dropped, each listed once in order',
		false,
		raw({ output: 'file', fileFormat: 'csv', csvColumns: ' price, title ,price,, sku ' }),
		{ output: 'file', fileFormat: 'csv', csvColumns: ['price', 'title', 'sku'] },
	],
	[
		'JSON Lines ignores CSV columns',
		false,
		raw({ output: 'file', csvColumns: 'price' }),
		{ output: 'file' },
	],
	[
		'the binary field name is trimmed',
		false,
		raw({ binaryPropertyName: ' file_1 ' }),
		{ binaryPropertyName: 'file_1' },
	],
	[
		'options given as numbers or numeric text',
		false,
		raw({
			options: {
				timeout: '30',
				pollInterval: 0.5,
				maxPollInterval: '4',
				rowsPerItem: 50,
				concurrency: '3',
				maxDrift: 0,
			},
		}),
		{
			timeoutMs: 30_000,
			pollMs: 500,
			maxPollMs: 4_000,
			rowsPerItem: 50,
			concurrency: 3,
			maxDrift: 0,
		},
	],
	['an empty Max Drift means none', false, raw({ options: { maxDrift: '' } }), {}],
	[
		'switches',
		false,
		raw({ options: { includeRunMetadata: true, checkQuota: false, onRunFailure: 'output' } }),
		{ includeRunMetadata: true, checkQuota: false, onRunFailure: 'output' },
	],
	[
		'as a tool: a row limit and a wait',
		true,
		raw(),
		{ asTool: true, toolRowLimit: 100, toolWaitMs: 45_000 },
	],
	[
		'as a tool: Row Limit 0 returns every row',
		true,
		raw({ options: { toolRowLimit: 0, toolWait: 20 } }),
		{ asTool: true, toolRowLimit: 0, toolWaitMs: 20_000 },
	],
	[
		'outside a tool, the tool options do nothing',
		false,
		raw({ options: { toolRowLimit: 5, toolWait: 20 } }),
		{},
	],
])('%s', (_what, asTool, parameters, changed) => {
	expect(parseRunSettings(node, 0, asTool, parameters)).toEqual({ ...DEFAULTS, ...changed });
});

// [parameters, the error a user reads]
test.each<[RunParameters, string]>([
	[raw({ fileFormat: 'xml' }), 'File Format must be "jsonl" or "csv" [item 3]'],
	[
		raw({ binaryPropertyName: 'my file' }),
		'Put Output File in Field must be a field name such as "data" [item 3]',
	],
	[
		raw({ binaryPropertyName: '' }),
		'Put Output File in Field must be a field name such as "data" [item 3]',
	],
	[
		raw({ options: { pollInterval: 5, maxPollInterval: 2 } }),
		'Option "Max Poll Interval" must not be below "Poll Interval" [item 3]',
	],
	[
		raw({ options: { pollInterval: 0 } }),
		'Option "Poll Interval" must be at least 0.1 (got 0) [item 3]',
	],
	[raw({ options: { timeout: 0 } }), 'Option "Timeout" must be greater than 0 (got 0) [item 3]'],
	[
		raw({ options: { timeout: 'soon' } }),
		'Option "Timeout" must be a number (got "soon") [item 3]',
	],
	[
		raw({ options: { concurrency: 1.5 } }),
		'Option "Concurrency" must be a whole number (got 1.5) [item 3]',
	],
	[
		raw({ options: { concurrency: 1001 } }),
		'Option "Concurrency" must be at most 1000 (got 1001) [item 3]',
	],
	[
		raw({ options: { rowsPerItem: 0 } }),
		'Option "Rows per Item" must be at least 1 (got 0) [item 3]',
	],
	[raw({ options: { maxDrift: 2 } }), 'Option "Max Drift" must be at most 1 (got 2) [item 3]'],
	[
		raw({ options: { onRunFailure: 'ignore' } }),
		'Option "On Run Failure" must be "error" or "output" [item 3]',
	],
])('%j fails: %s', (parameters, message) => {
	expect(() => parseRunSettings(node, 3, false, parameters)).toThrow(message);
});

test('as a tool, a bad Tool Wait or Row Limit names the field', () => {
	expect(() => parseRunSettings(node, 0, true, raw({ options: { toolWait: 0 } }))).toThrow(
		'Option "Tool Wait" must be greater than 0 (got 0) [item 0]',
	);
	expect(() => parseRunSettings(node, 0, true, raw({ options: { toolRowLimit: -1 } }))).toThrow(
		'Option "Row Limit as a Tool" must be at least 0 (got -1) [item 0]',
	);
});
