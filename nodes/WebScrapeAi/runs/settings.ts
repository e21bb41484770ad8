import type { IDataObject, IExecuteFunctions, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { numberOption } from '../core/validation';
import { runsAsTool } from '../core/asTool';
import type { FileFormat } from './runFile';

/** What a user chose about waiting for and shaping a run (Recipe → Run and Run → Get). */
export interface RunSettings {
	waitForCompletion: boolean;
	output: 'items' | 'run' | 'file';
	/** Output "file": the format, the CSV columns listed first, the binary property it goes under. */
	fileFormat: FileFormat;
	csvColumns: string[];
	binaryPropertyName: string;
	/** Output "items": rows grouped into one item each this many (1: an item per row). */
	rowsPerItem: number;
	timeoutMs: number;
	pollMs: number;
	maxPollMs: number;
	onRunFailure: 'error' | 'output';
	maxDrift?: number;
	includeRunMetadata: boolean;
	concurrency: number;
	checkQuota: boolean;
	/** The node runs as an AI tool (`runsAsTool`): the one answer every layer reads. */
	asTool: boolean;
	/** Rows returned to a model when the node runs as a tool (0: all; ordinary workflows: 0). */
	toolRowLimit: number;
	/** The longest a tool call waits for a run (ordinary workflows: 0, they wait for Timeout). */
	toolWaitMs: number;
}

/**
 * One item's run parameters as the node's fields hold them, before any check: what
 * `readRunSettings` reads from n8n and `parseRunSettings` turns into settings.
 */
export interface RunParameters {
	waitForCompletion: boolean;
	/** Read only when waiting (the field is hidden otherwise). */
	output?: unknown;
	fileFormat: unknown;
	binaryPropertyName: unknown;
	/** Read only for the CSV format (the field is hidden otherwise). */
	csvColumns?: unknown;
	options: IDataObject;
}

/** Output "file": its format and binary property (read whatever the output, for Run → Get's sake). */
function parseOutputFile(
	node: INode,
	itemIndex: number,
	raw: RunParameters,
): Pick<RunSettings, 'fileFormat' | 'csvColumns' | 'binaryPropertyName'> {
	const fileFormat = raw.fileFormat as FileFormat;
	const name = String(raw.binaryPropertyName ?? '').trim();
	if (fileFormat !== 'jsonl' && fileFormat !== 'csv')
		throw new NodeOperationError(node, `File Format must be "jsonl" or "csv" [item ${itemIndex}]`, {
			itemIndex,
		});
	if (!/^[A-Za-z0-9_-]+$/.test(name))
		throw new NodeOperationError(
			node,
			`Put Output File in Field must be a field name such as "data" [item ${itemIndex}]`,
			{ itemIndex, description: 'Letters, digits, "-" and "_" only.' },
		);
	// Listed once each, in order; a name cannot hold a comma.
	const csvColumns =
		fileFormat === 'csv'
			? [
					...new Set(
						String(raw.csvColumns ?? '')
							.split(',')
							.map((column) => column.trim())
							.filter((column) => column !== ''),
					),
				]
			: [];
	return { fileFormat, csvColumns, binaryPropertyName: name };
}

export const DEFAULT_TIMEOUT_S = 960;
export const DEFAULT_TOOL_ROW_LIMIT = 100;
/** Below the 60 s after which MCP clients built on the official SDK give up on a call. */
export const DEFAULT_TOOL_WAIT_S = 45;

/** Reads and checks the run parameters of one item; throws naming the item and the field. */
export function readRunSettings(
	this: IExecuteFunctions,
	itemIndex: number,
	waitDefault: boolean,
): RunSettings {
	const waitForCompletion = this.getNodeParameter(
		'waitForCompletion',
		itemIndex,
		waitDefault,
	) as boolean;
	const fileFormat = this.getNodeParameter('fileFormat', itemIndex, 'jsonl');
	return parseRunSettings(this.getNode(), itemIndex, runsAsTool(this), {
		waitForCompletion,
		output: waitForCompletion ? this.getNodeParameter('output', itemIndex, 'items') : undefined,
		fileFormat,
		binaryPropertyName: this.getNodeParameter('binaryPropertyName', itemIndex, 'data'),
		csvColumns:
			fileFormat === 'csv' ? this.getNodeParameter('csvColumns', itemIndex, '') : undefined,
		options: this.getNodeParameter('options', itemIndex, {}) as IDataObject,
	});
}

/**
 * Checks one item's run parameters and fills in the defaults; throws naming the item and the
 * field. `asTool`: the node runs as an AI tool (its row limit and wait apply).
 */
export function parseRunSettings(
	node: INode,
	itemIndex: number,
	asTool: boolean,
	raw: RunParameters,
): RunSettings {
	const { waitForCompletion, options } = raw;
	const output = waitForCompletion ? ((raw.output ?? 'items') as RunSettings['output']) : 'run';
	const pollMs =
		numberOption(node, options.pollInterval, 'Poll Interval', itemIndex, { min: 0.1 }, 2) * 1000;
	const maxPollMs =
		numberOption(node, options.maxPollInterval, 'Max Poll Interval', itemIndex, { min: 0.1 }, 10) *
		1000;
	if (maxPollMs < pollMs) {
		throw new NodeOperationError(
			node,
			`Option "Max Poll Interval" must not be below "Poll Interval" [item ${itemIndex}]`,
			{ itemIndex },
		);
	}
	const maxDrift =
		options.maxDrift === undefined || options.maxDrift === null || options.maxDrift === ''
			? undefined
			: numberOption(node, options.maxDrift, 'Max Drift', itemIndex, { min: 0, max: 1 }, 1);
	const onRunFailure = (options.onRunFailure as string | undefined) ?? 'error';
	if (onRunFailure !== 'error' && onRunFailure !== 'output') {
		throw new NodeOperationError(
			node,
			`Option "On Run Failure" must be "error" or "output" [item ${itemIndex}]`,
			{ itemIndex },
		);
	}
	return {
		waitForCompletion,
		output,
		...parseOutputFile(node, itemIndex, raw),
		rowsPerItem: numberOption(
			node,
			options.rowsPerItem,
			'Rows per Item',
			itemIndex,
			{ min: 1, integer: true },
			1,
		),
		timeoutMs:
			numberOption(
				node,
				options.timeout,
				'Timeout',
				itemIndex,
				{ min: 0, minExclusive: true },
				DEFAULT_TIMEOUT_S,
			) * 1000,
		pollMs,
		maxPollMs,
		onRunFailure,
		maxDrift,
		includeRunMetadata: options.includeRunMetadata === true,
		concurrency: numberOption(
			node,
			options.concurrency,
			'Concurrency',
			itemIndex,
			{ min: 1, max: 1000, integer: true },
			10,
		),
		checkQuota: options.checkQuota !== false,
		asTool,
		toolRowLimit: asTool
			? numberOption(
					node,
					options.toolRowLimit,
					'Row Limit as a Tool',
					itemIndex,
					{ min: 0, integer: true },
					DEFAULT_TOOL_ROW_LIMIT,
				)
			: 0,
		toolWaitMs: asTool
			? numberOption(
					node,
					options.toolWait,
					'Tool Wait',
					itemIndex,
					{ min: 0, minExclusive: true },
					DEFAULT_TOOL_WAIT_S,
				) * 1000
			: 0,
	};
}
