import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { limitedForModel, runsAsTool } from '../tool/asTool';

import type { ApiEnvelope } from '../transport';
import {
	apiRequest,
	BatchStoppedError,
	cancelledError,
	cancelSignalOf,
	isTransient,
	seconds,
} from '../transport';
import { pause } from '../transport/pause';
import type { FileFormat } from './runFile';
import { pageRows, RowFile, runAsFile } from './runFile';
import { numberOption } from './validation';

const TERMINAL_STATUSES = new Set(['completed', 'failed', 'cancelled']);

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
	/** Rows returned to a model when the node runs as a tool (0: all; ordinary workflows: 0). */
	toolRowLimit: number;
	/** The longest a tool call waits for a run (ordinary workflows: 0, they wait for Timeout). */
	toolWaitMs: number;
}

/** Output "file": its format and binary property (read whatever the output, for Run → Get's sake). */
function readOutputFile(
	context: IExecuteFunctions,
	itemIndex: number,
): Pick<RunSettings, 'fileFormat' | 'csvColumns' | 'binaryPropertyName'> {
	const fileFormat = context.getNodeParameter('fileFormat', itemIndex, 'jsonl') as FileFormat;
	const name = String(
		context.getNodeParameter('binaryPropertyName', itemIndex, 'data') ?? '',
	).trim();
	if (fileFormat !== 'jsonl' && fileFormat !== 'csv')
		throw new NodeOperationError(
			context.getNode(),
			`File Format must be "jsonl" or "csv" [item ${itemIndex}]`,
			{ itemIndex },
		);
	if (!/^[A-Za-z0-9_-]+$/.test(name))
		throw new NodeOperationError(
			context.getNode(),
			`Put Output File in Field must be a field name such as "data" [item ${itemIndex}]`,
			{ itemIndex, description: 'Letters, digits, "-" and "_" only.' },
		);
	// Listed once each, in order; a name cannot hold a comma.
	const csvColumns =
		fileFormat === 'csv'
			? [
					...new Set(
						String(context.getNodeParameter('csvColumns', itemIndex, '') ?? '')
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
	const node = this.getNode();
	const asTool = runsAsTool(this);
	const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const waitForCompletion = this.getNodeParameter(
		'waitForCompletion',
		itemIndex,
		waitDefault,
	) as boolean;
	const output = waitForCompletion
		? (this.getNodeParameter('output', itemIndex, 'items') as RunSettings['output'])
		: 'run';
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
		...readOutputFile(this, itemIndex),
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

export function statusOf(envelope: ApiEnvelope): string {
	const status = envelope.data.run_status ?? envelope.data.status;
	return typeof status === 'string' ? status : 'unknown';
}

export function isTerminal(envelope: ApiEnvelope): boolean {
	return TERMINAL_STATUSES.has(statusOf(envelope));
}

export function runPath(runId: string): string {
	return `/smartbrowse/runs/${encodeURIComponent(runId)}`;
}

/**
 * The one waiting engine: polls a run on the vendor's schedule (first interval, ×1.5 up to the
 * cap) until it ends, the deadline passes, the execution is cancelled or the batch is stopped.
 * Polls are free and not rate-limited; a poll that fails transiently is simply tried again at the
 * next interval, so a flaky network does not lose a run that is still going.
 */
export async function waitForRun(
	this: IExecuteFunctions,
	runId: string,
	settings: Pick<RunSettings, 'timeoutMs' | 'pollMs' | 'maxPollMs'>,
	context: {
		itemIndex: number;
		startedAt: number;
		stop?: AbortSignal;
		pollFirst: boolean;
		/** Output "One File": where each poll's rows go (only the last poll's, the ended run's, stay). */
		rows?: RowFile;
	},
): Promise<ApiEnvelope> {
	const cancel = cancelSignalOf(this);
	const deadline = context.startedAt + settings.timeoutMs;
	let interval = settings.pollMs;
	let lastStatus = 'running';
	let lastError: Error | undefined;
	// Polls keep to the schedule counted from when waiting began, however long each request takes,
	// so slow answers never push detection later than the schedule promises.
	let nextPollAt = Date.now();
	if (!context.pollFirst) {
		nextPollAt += interval;
		interval = Math.min(interval * 1.5, settings.maxPollMs);
	}

	for (;;) {
		await pause(Math.min(nextPollAt, deadline) - Date.now(), cancel, context.stop);
		if (cancel?.aborted) throw cancelledError(this);
		if (context.stop?.aborted) throw new BatchStoppedError();
		try {
			const envelope = await apiRequest.call(this, {
				method: 'GET',
				path: runPath(runId),
				kind: 'read',
				subject: { kind: 'run', id: runId },
				itemIndex: context.itemIndex,
				deadline,
				rows: context.rows,
			});
			if (isTerminal(envelope)) return envelope;
			lastStatus = statusOf(envelope);
			lastError = undefined;
		} catch (error) {
			if (!isTransient(error)) throw error as NodeOperationError;
			lastError = error as Error;
		}
		const now = Date.now();
		if (now >= deadline) {
			throw new RunTimeoutError(
				this.getNode(),
				runId,
				settings.timeoutMs,
				lastStatus,
				context.itemIndex,
				lastError,
			);
		}
		// After a request slower than the gap, poll once right away rather than in a burst.
		nextPollAt = Math.max(nextPollAt + interval, now);
		interval = Math.min(interval * 1.5, settings.maxPollMs);
	}
}

/** A run still not ended (or not readable) when its wait's deadline passed. */
export class RunTimeoutError extends NodeOperationError {
	constructor(
		node: INode,
		readonly runId: string,
		timeoutMs: number,
		readonly lastStatus: string,
		itemIndex: number,
		readonly lastError: Error | undefined,
	) {
		const lastPoll = lastError ? ` The last poll failed: ${lastError.message}.` : '';
		super(
			node,
			`Run "${runId}" did not finish within ${seconds(timeoutMs)} (last status: ${lastStatus}) [item ${itemIndex}]`,
			{
				itemIndex,
				description: `The run may still finish on webscrape.ai. Fetch it later with Run → Get (Run ID ${runId}), or let a WebScrape AI Trigger pick it up when it ends.${lastPoll}`,
			},
		);
	}
}

/** A run that ended but must not feed downstream nodes as if it succeeded. */
function runFailure(envelope: ApiEnvelope, maxDrift: number | undefined): string | undefined {
	const run = envelope.data;
	const status = statusOf(envelope);
	const runId = String(run.id ?? run.run_id ?? '');
	if (status === 'failed' || status === 'cancelled') {
		const reason = typeof run.error === 'string' && run.error ? run.error : 'no reason given';
		return `Run "${runId}" ${status}: ${reason}`;
	}
	const drift = (run.result as IDataObject | undefined)?.drift;
	if (maxDrift !== undefined && typeof drift === 'number' && drift > maxDrift) {
		return `Run "${runId}": the page changed since the recipe was recorded (drift ${drift} is above the allowed ${maxDrift})`;
	}
	return undefined;
}

/** The run object as the API returns it in `data`, plus the balance from the envelope. */
export function runObject(envelope: ApiEnvelope): IDataObject {
	const json: IDataObject = { ...envelope.data };
	if (envelope.credits_remaining !== undefined) json.credits_remaining = envelope.credits_remaining;
	return json;
}

/** One n8n item per extracted item, all pages in order, each paired to its input item. */
export function runItems(
	envelope: ApiEnvelope,
	itemIndex: number,
	includeRunMetadata: boolean,
): INodeExecutionData[] {
	const run = envelope.data;
	const output: INodeExecutionData[] = [];
	const pairedItem = { item: itemIndex };
	for (const { page, row } of pageRows(run)) {
		if (includeRunMetadata)
			row._run = { id: run.id, recipe_id: run.recipe_id, page, credits_used: run.credits_used };
		output.push({ json: row, pairedItem });
	}
	return output;
}

/** Turns an ended run into output items, or throws the run's failure as an error. */
export function shapeEndedRun(
	node: INode,
	envelope: ApiEnvelope,
	settings: RunSettings,
	itemIndex: number,
): INodeExecutionData[] {
	const failure = runFailure(envelope, settings.maxDrift);
	if (failure !== undefined) {
		if (settings.onRunFailure === 'output') {
			return [{ json: runObject(envelope), pairedItem: { item: itemIndex } }];
		}
		throw new NodeOperationError(node, `${failure} [item ${itemIndex}]`, {
			itemIndex,
			description:
				'Set the option "On Run Failure" to "Output the Run" to receive failed runs as items instead of an error.',
		});
	}
	if (settings.output === 'run')
		return [{ json: runObject(envelope), pairedItem: { item: itemIndex } }];
	const rows = runItems(envelope, itemIndex, settings.includeRunMetadata);
	if (settings.toolRowLimit > 0 && rows.length > settings.toolRowLimit) {
		return limitedForModel(envelope, rows, settings.toolRowLimit, itemIndex);
	}
	if (settings.rowsPerItem > 1) return groupedRows(rows, settings.rowsPerItem, itemIndex);
	return rows;
}

/** Rows per Item: fewer, larger items (`rows: [...]`), for runs too large to handle row by row. */
function groupedRows(
	rows: INodeExecutionData[],
	size: number,
	itemIndex: number,
): INodeExecutionData[] {
	const grouped: INodeExecutionData[] = [];
	for (let at = 0; at < rows.length; at += size)
		grouped.push({
			json: { rows: rows.slice(at, at + size).map((row) => row.json) },
			pairedItem: { item: itemIndex },
		});
	return grouped;
}

/**
 * The file an ended run's rows are written to as its body is read (Output "One File"), or none.
 * A tool never gets one: a model reads rows, not files.
 */
export function rowFileFor(settings: RunSettings): RowFile | undefined {
	return settings.output === 'file' && settings.toolRowLimit === 0
		? new RowFile(settings.fileFormat, settings.csvColumns)
		: undefined;
}

/**
 * An ended run as output items: its failure (as shapeEndedRun), or with a file (rowFileFor) one
 * item whose rows are in that file, never held as n8n items.
 */
export async function outputEndedRun(
	context: IExecuteFunctions,
	envelope: ApiEnvelope,
	settings: RunSettings,
	itemIndex: number,
	file: RowFile | undefined,
): Promise<INodeExecutionData[]> {
	if (!file || runFailure(envelope, settings.maxDrift) !== undefined)
		return shapeEndedRun(context.getNode(), envelope, settings, itemIndex);
	return [await runAsFile(context, envelope, file, settings.binaryPropertyName, itemIndex)];
}
