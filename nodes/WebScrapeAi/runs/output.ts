import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { limitedForModel } from '../core/asTool';
import type { ApiEnvelope } from '../transport';
import { pageRows, RowFile, runAsFile } from './runFile';
import type { RunSettings } from './settings';
import { statusOf } from './waiting';

/** An ended run that must not feed downstream nodes as if it succeeded, and why. */
export interface EndedRunFailure {
	runId: string;
	status: string;
	reason: string;
	creditsUsed?: number;
	/** Set when the run completed but the page drifted past Max Drift. */
	drift?: number;
}

function endedRunFailure(
	envelope: ApiEnvelope,
	maxDrift: number | undefined,
): (EndedRunFailure & { message: string }) | undefined {
	const run = envelope.data;
	const status = statusOf(envelope);
	const runId = String(run.id ?? run.run_id ?? '');
	const creditsUsed = typeof run.credits_used === 'number' ? run.credits_used : undefined;
	if (status === 'failed' || status === 'cancelled') {
		const reason = typeof run.error === 'string' && run.error ? run.error : 'no reason given';
		return { runId, status, reason, creditsUsed, message: `Run "${runId}" ${status}: ${reason}` };
	}
	const drift = (run.result as IDataObject | undefined)?.drift;
	if (maxDrift !== undefined && typeof drift === 'number' && drift > maxDrift) {
		const reason = `the page changed since the recipe was recorded (drift ${drift} is above the allowed ${maxDrift})`;
		return { runId, status, reason, creditsUsed, drift, message: `Run "${runId}": ${reason}` };
	}
	return undefined;
}

const runFailure = (envelope: ApiEnvelope, maxDrift: number | undefined) =>
	endedRunFailure(envelope, maxDrift)?.message;

/** The errors thrown for ended runs, and what ended each (a tool's answer says it in words). */
const endedRunFailures = new WeakMap<object, EndedRunFailure>();

/** The ended run `error` was thrown for, if it was thrown for one. */
export function endedRunFailureOf(error: unknown): EndedRunFailure | undefined {
	return typeof error === 'object' && error !== null ? endedRunFailures.get(error) : undefined;
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
	const failure = endedRunFailure(envelope, settings.maxDrift);
	if (failure !== undefined) {
		if (settings.onRunFailure === 'output') {
			return [{ json: runObject(envelope), pairedItem: { item: itemIndex } }];
		}
		const error = new NodeOperationError(node, `${failure.message} [item ${itemIndex}]`, {
			itemIndex,
			description:
				'Set the option "On Run Failure" to "Output the Run" to receive failed runs as items instead of an error.',
		});
		endedRunFailures.set(error, failure);
		throw error;
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
	return settings.output === 'file' && !settings.asTool
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
