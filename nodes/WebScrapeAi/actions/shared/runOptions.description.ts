import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

import { DEFAULT_TIMEOUT_S, DEFAULT_TOOL_ROW_LIMIT, DEFAULT_TOOL_WAIT_S } from '../../runs';
import { budgetOptions } from './budgetOptions.description';
import { optionsCollection } from './options.description';

/** The output choice shared by Recipe → Run and Run → Get. */
export function outputField(show: NonNullable<IDisplayOptions['show']>): INodeProperties {
	return {
		displayName: 'Output',
		name: 'output',
		type: 'options',
		default: 'items',
		displayOptions: { show },
		options: [
			{
				name: 'Extracted Items',
				value: 'items',
				description:
					'One n8n item per row the recipe extracted, all pages in order. A run that extracted nothing outputs no items.',
			},
			{
				name: 'Run',
				value: 'run',
				description:
					'One item: the run object as the API returns it (status, counts, credits, result with pages, drift and warnings)',
			},
			{
				name: 'One File',
				value: 'file',
				description:
					'One item per run: its details, row count and columns, with every row in one file (JSON Lines or CSV) stored wherever your n8n keeps binary data. For large runs: the rows are never held as n8n items.',
			},
		],
		description: 'What to output once the run has ended',
	};
}

/** Output "One File": its format and the binary field it goes in. */
export function fileFields(show: NonNullable<IDisplayOptions['show']>): INodeProperties[] {
	const whenFile = { show: { ...show, output: ['file'] } };
	return [
		{
			displayName: 'File Format',
			name: 'fileFormat',
			type: 'options',
			default: 'jsonl',
			displayOptions: whenFile,
			options: [
				{
					name: 'JSON Lines',
					value: 'jsonl',
					description: 'One JSON object per line: every value as the API returned it',
				},
				{
					name: 'CSV',
					value: 'csv',
					description:
						'A header row of the fields, then one row per line (RFC 4180 quoting); nested values are written as JSON in their cell',
				},
			],
		},
		{
			displayName: 'CSV Columns',
			name: 'csvColumns',
			type: 'string',
			default: '',
			placeholder: 'e.g. sku, title, price',
			displayOptions: { show: { ...show, output: ['file'], fileFormat: ['csv'] } },
			description:
				"Optional. The recipe's fields, comma-separated, in the order the file's columns should have. The header starts with them, so it is the same from run to run, and an empty run gives a file with just this header (webscrape.ai's answer does not name the fields). A field a row has that is not listed gets a column after them.",
		},
		{
			displayName: 'Put Output File in Field',
			name: 'binaryPropertyName',
			type: 'string',
			default: 'data',
			required: true,
			displayOptions: whenFile,
			description: 'The binary field of the output item that holds the file',
		},
	];
}

const waitingOptions: INodeProperties[] = [
	{
		displayName: 'Timeout (Seconds)',
		name: 'timeout',
		type: 'number',
		default: DEFAULT_TIMEOUT_S,
		typeOptions: { minValue: 1 },
		description:
			"How long to wait for the run to end. The default covers webscrape.ai's 15-minute run cap plus a minute. On expiry the item fails with the run ID, and the run goes on at webscrape.ai. Recipe → Run also waits up to this long for a free slot when the batch is larger than your plan's limits allow.",
	},
	{
		displayName: 'Poll Interval (Seconds)',
		name: 'pollInterval',
		type: 'number',
		default: 2,
		typeOptions: { minValue: 0.1, numberPrecision: 1 },
		description:
			'First wait before checking the run; each next wait is 1.5 times longer. Polling is free.',
	},
	{
		displayName: 'Max Poll Interval (Seconds)',
		name: 'maxPollInterval',
		type: 'number',
		default: 10,
		typeOptions: { minValue: 0.1, numberPrecision: 1 },
		description: 'The longest wait between two checks of the run',
	},
	{
		displayName: 'On Run Failure',
		name: 'onRunFailure',
		type: 'options',
		default: 'error',
		options: [
			{
				name: 'Fail the Item',
				value: 'error',
				description: "A failed or cancelled run is an error carrying the run's error text",
			},
			{
				name: 'Output the Run',
				value: 'output',
				description: 'Output the failed or cancelled run object and go on',
			},
		],
		description: 'What to do when the run fails, is cancelled, or drifts above Max Drift',
	},
	{
		displayName: 'Max Drift',
		name: 'maxDrift',
		type: 'number',
		default: 0.3,
		typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 2 },
		description:
			'Treat a completed run whose drift (0–1: how much the page changed since the recipe was recorded) is above this as failed, so downstream nodes never get silently wrong rows',
	},
	{
		displayName: 'Row Limit as a Tool',
		name: 'toolRowLimit',
		type: 'number',
		default: DEFAULT_TOOL_ROW_LIMIT,
		typeOptions: { minValue: 0 },
		description:
			'When an AI agent or an MCP client calls this node as a tool: the most rows to return, followed by a note with the run ID, the total and how to get the rest (a model reads every row it gets). 0 returns every row. Ignored in ordinary workflows.',
	},
	{
		displayName: 'Tool Wait (Seconds)',
		name: 'toolWait',
		type: 'number',
		default: DEFAULT_TOOL_WAIT_S,
		typeOptions: { minValue: 1 },
		description:
			"When an AI agent or an MCP client calls this node as a tool: the longest the call waits for the run to end. A run still going then is returned as its run ID, its status and a note saying to fetch its rows later with Run → Get (it goes on, and is billed once). MCP clients built on the official SDK give up on a call after 60 s by default, so keep this below your client's timeout. Ignored in ordinary workflows, which wait for Timeout.",
	},
	{
		displayName: 'Rows per Item',
		name: 'rowsPerItem',
		type: 'number',
		default: 1,
		typeOptions: { minValue: 1 },
		description:
			'With Output "Extracted Items": put this many rows in each output item (as "rows"), for fewer, lighter items on large runs. 1: one item per row.',
	},
	{
		displayName: 'Include Run Metadata',
		name: 'includeRunMetadata',
		type: 'boolean',
		default: false,
		description:
			'Whether to add "_run" (run ID, recipe ID, page number, the credits the run used) to each extracted item, to tell rows of different runs apart',
	},
];

const batchOptions: INodeProperties[] = [
	{
		displayName: 'Concurrency',
		name: 'concurrency',
		type: 'number',
		default: 10,
		typeOptions: { minValue: 1 },
		description:
			"The most runs this node keeps in progress at once. With N input items the node takes about N / Concurrency runs' time. If your plan allows fewer at once, the node waits for free slots instead of failing.",
	},
	{
		displayName: 'Check Quota First',
		name: 'checkQuota',
		type: 'boolean',
		default: true,
		description:
			'Whether to read your 30-day run quota (free) before dispatching, and start no run at all when fewer runs remain than there are input items',
	},
];

/** The options collection for Recipe → Run (`withBatch`) and Run → Get. */
export function runOptionsField(
	show: NonNullable<IDisplayOptions['show']>,
	withBatch: boolean,
): INodeProperties {
	return optionsCollection(
		show,
		withBatch ? [...batchOptions, ...budgetOptions, ...waitingOptions] : waitingOptions,
	);
}
