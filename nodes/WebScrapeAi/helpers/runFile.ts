import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { ApiEnvelope } from '../transport';
import type { RowSink } from '../transport/rowScanner';

/**
 * A run's rows as one file (JSON Lines or CSV) stored through n8n's binary data helpers, so it lands
 * wherever the instance keeps binary data (memory, filesystem, S3, database) and the rows are never
 * held as n8n items. CSV columns: every field any row has, in the order first seen.
 */
export type FileFormat = 'jsonl' | 'csv';

/** A row as an n8n item carries it: an object as it is, anything else as `{ value }`. */
export function asRow(value: unknown): IDataObject {
	return value && typeof value === 'object' && !Array.isArray(value)
		? (value as IDataObject)
		: { value: value as IDataObject['value'] };
}

/** Every row of a parsed run, all pages in order, with the index of its page. */
export function* pageRows(run: IDataObject): Generator<{ page: number; row: IDataObject }> {
	const pages = ((run.result as IDataObject | undefined)?.pages ?? []) as IDataObject[];
	for (let page = 0; page < pages.length; page++) {
		const items = pages[page]?.items;
		if (!Array.isArray(items)) continue;
		for (const item of items) yield { page, row: asRow(item) };
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

/** Characters of lines gathered before they become one chunk of bytes. */
const CHUNK_CHARS = 1 << 20;

/**
 * The file being written while the run's body is read (the transport's row sink): each row is
 * parsed alone and kept as one compact JSON line, in chunks of bytes, so the rows are never held
 * as objects. CSV needs every column before its header, so its lines are written at the end from
 * those chunks, each chunk dropped once written.
 */
export class RowFile implements RowSink {
	private chunks: Buffer[] = [];
	private lines: string[] = [];
	private lineChars = 0;
	private readonly columnSet = new Set<string>();
	columns: string[] = [];
	rows = 0;

	constructor(readonly format: FileFormat) {}

	reset(): void {
		this.chunks = [];
		this.lines = [];
		this.lineChars = 0;
		this.columnSet.clear();
		this.columns = [];
		this.rows = 0;
	}

	row(json: string): void {
		this.add(JSON.parse(json) as unknown);
	}

	add(value: unknown): void {
		const row = asRow(value);
		for (const key of Object.keys(row))
			if (!this.columnSet.has(key)) {
				this.columnSet.add(key);
				this.columns.push(key);
			}
		const line = `${JSON.stringify(row)}\n`;
		this.lines.push(line);
		this.lineChars += line.length;
		this.rows++;
		if (this.lineChars >= CHUNK_CHARS) this.flush();
	}

	private flush(): void {
		if (this.lines.length === 0) return;
		this.chunks.push(Buffer.from(this.lines.join(''), 'utf8'));
		this.lines = [];
		this.lineChars = 0;
	}

	/** The file's bytes; the chunks are handed over (the file is empty after). */
	content(): Buffer {
		this.flush();
		const chunks = this.chunks;
		this.chunks = [];
		if (this.format === 'csv') {
			// The header row; a run without rows has no columns to name, so its file is empty.
			const header =
				this.columns.length > 0 ? [Buffer.from(`${this.columns.map(csvField).join(',')}\r\n`)] : [];
			for (let at = 0; at < chunks.length; at++) chunks[at] = this.csvChunk(chunks[at]);
			chunks.unshift(...header);
		}
		return Buffer.concat(chunks);
	}

	private csvChunk(jsonLines: Buffer): Buffer {
		// JSON.stringify escapes every line break inside a value, so "\n" only ends a line.
		const lines = jsonLines.toString('utf8').split('\n');
		const out: string[] = [];
		for (const line of lines) {
			if (line === '') continue;
			const row = JSON.parse(line) as IDataObject;
			out.push(`${this.columns.map((column) => csvField(row[column])).join(',')}\r\n`);
		}
		return Buffer.from(out.join(''), 'utf8');
	}
}

/** The ended run as one item: its metadata, row count and columns in JSON, its rows in a file. */
export async function runAsFile(
	context: IExecuteFunctions,
	envelope: ApiEnvelope,
	file: RowFile,
	binaryPropertyName: string,
	itemIndex: number,
): Promise<INodeExecutionData> {
	const run = envelope.data;
	// Rows the body was not read for (the scanner took them all when it was): added in order.
	for (const { row } of pageRows(run)) file.add(row);
	const fileName = `webscrape-ai-run-${String(run.id ?? 'rows')}.${file.format}`;
	const mimeType = file.format === 'csv' ? 'text/csv' : 'application/x-ndjson';
	const { rows, columns } = file;
	const content = file.content();
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
	return { json, binary: { [binaryPropertyName]: binary }, pairedItem: { item: itemIndex } };
}
