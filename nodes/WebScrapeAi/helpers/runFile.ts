import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { ApiEnvelope } from '../transport';

/**
 * A run's rows as one file (JSON Lines or CSV) stored through n8n's binary data helpers, so it lands
 * wherever the instance keeps binary data (memory, filesystem, S3, database) and the rows are never
 * held as n8n items. CSV columns: every field any row has, in the order first seen.
 */
export type FileFormat = 'jsonl' | 'csv';

/** Rows per chunk of the file: few enough to keep a chunk small, many enough to be quick. */
const ROWS_PER_CHUNK = 1_000;

/** Every row of the run, all pages in order, as the items output would give them. */
function* rowsOf(run: IDataObject): Generator<IDataObject> {
	const pages = ((run.result as IDataObject | undefined)?.pages ?? []) as IDataObject[];
	for (const page of pages) {
		const items = page?.items;
		if (!Array.isArray(items)) continue;
		for (const item of items)
			yield item && typeof item === 'object' && !Array.isArray(item)
				? (item as IDataObject)
				: { value: item as IDataObject['value'] };
	}
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled.
 * A nested value (object, array) is written as JSON in its cell rather than dropped.
 */
export function csvField(value: unknown): string {
	if (value === null || value === undefined) return '';
	const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
	return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function* chunks(run: IDataObject, format: FileFormat, columns: string[]): Generator<Buffer> {
	let lines: string[] = [];
	// The header row; a run without rows has no columns to name, so its file is empty.
	if (format === 'csv' && columns.length > 0) lines.push(`${columns.map(csvField).join(',')}\r\n`);
	for (const row of rowsOf(run)) {
		lines.push(
			format === 'csv'
				? `${columns.map((column) => csvField(row[column])).join(',')}\r\n`
				: `${JSON.stringify(row)}\n`,
		);
		if (lines.length >= ROWS_PER_CHUNK) {
			yield Buffer.from(lines.join(''), 'utf8');
			lines = [];
		}
	}
	if (lines.length > 0) yield Buffer.from(lines.join(''), 'utf8');
}

/** The ended run as one item: its metadata, row count and columns in JSON, its rows in a file. */
export async function runAsFile(
	context: IExecuteFunctions,
	envelope: ApiEnvelope,
	file: { format: FileFormat; binaryPropertyName: string },
	itemIndex: number,
): Promise<INodeExecutionData> {
	const run = envelope.data;
	const columnSet = new Set<string>();
	let rows = 0;
	for (const row of rowsOf(run)) {
		rows++;
		for (const key of Object.keys(row)) columnSet.add(key);
	}
	const columns = [...columnSet];
	const fileName = `webscrape-ai-run-${String(run.id ?? 'rows')}.${file.format}`;
	const mimeType = file.format === 'csv' ? 'text/csv' : 'application/x-ndjson';
	// One buffer of the file (the community-node rules allow no stream import); the rows are held
	// parsed once, as the body was read.
	const content = Buffer.concat([...chunks(run, file.format, columns)]);
	const bytes = content.length;
	const binary = await context.helpers.prepareBinaryData(content, fileName, mimeType);
	// The run without its rows: those are in the file.
	const { result, ...metadata } = run;
	const { pages: _pages, ...resultWithoutRows } = (result ?? {}) as IDataObject;
	const json: IDataObject = {
		...metadata,
		result: resultWithoutRows,
		credits_remaining: envelope.credits_remaining,
		rows,
		columns,
		file: { name: fileName, format: file.format, bytes },
	};
	return { json, binary: { [file.binaryPropertyName]: binary }, pairedItem: { item: itemIndex } };
}
