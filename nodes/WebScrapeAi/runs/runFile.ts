import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { ApiEnvelope } from '../transport';
import type { RowBytes, RowSink } from '../transport/rowScanner';
import { rowText } from '../transport/rowScanner';

/**
 * A run's rows as one file (JSON Lines or CSV) stored through n8n's binary data helpers, so it lands
 * wherever the instance keeps binary data (memory, filesystem, S3, database) and the rows are never
 * held as n8n items. CSV columns: those listed (CSV Columns), then every other field any row has, in
 * the order first seen.
 */
export type FileFormat = 'jsonl' | 'csv';

/** A row as an n8n item carries it: an object as it is, anything else as `{ value }`. */
function asRow(value: unknown): IDataObject {
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

/** Bytes of a chunk when the body's length is not known (or the file outgrows it). */
const CHUNK_BYTES = 1 << 20;
/** Room left before a CSV's rows for its header, written last (its columns are known only then). */
const HEADER_ROOM = 64 * 1024;
/** Rows vary in size: room for a quarter more than the first ones promise (untouched, it costs nothing). */
const ESTIMATE_MARGIN = 1.25;
const NEWLINE = 0x0a;
const QUOTE = 0x22;

/**
 * The bytes of a file, written in order. Sized to the body when its length is known (or, once the
 * first buffer is full, to an estimate), so the file ends up in the one buffer it was written to
 * (its untouched tail costs no memory); past that size, in chunks joined at the end. `headRoom`
 * bytes are kept free at the start, for a head written last.
 */
class FileBytes {
	private full: Buffer[] = [];
	private current: Buffer;
	private used: number;

	constructor(
		sizeHint: number | undefined,
		private readonly headRoom = 0,
	) {
		this.current = Buffer.allocUnsafeSlow(Math.max((sizeHint ?? 0) + headRoom, CHUNK_BYTES));
		this.used = headRoom;
	}

	/** Bytes written so far (the head's room not counted). */
	get length(): number {
		let length = this.used - this.headRoom;
		for (const chunk of this.full) length += chunk.length;
		return length;
	}

	/**
	 * Asked once, when the first buffer is full: how many bytes the whole file will likely take. A
	 * larger buffer then takes over (what was written is copied once, a chunk at most), so the file
	 * still ends up in one buffer; its untouched tail costs no memory.
	 */
	estimate?: (written: number) => number | undefined;

	private room(bytes: number): void {
		if (this.used + bytes <= this.current.length) return;
		const total = this.full.length === 0 ? this.estimate?.(this.used - this.headRoom) : undefined;
		this.estimate = undefined;
		if (total !== undefined && total + this.headRoom > this.used + bytes) {
			const larger = Buffer.allocUnsafeSlow(total + this.headRoom);
			this.current.copy(larger, 0, 0, this.used);
			this.current = larger;
			return;
		}
		this.full.push(this.current.subarray(0, this.used));
		this.current = Buffer.allocUnsafeSlow(Math.max(bytes, CHUNK_BYTES));
		this.used = 0;
	}

	/** source[from, to). */
	write(source: Buffer, from: number, to: number): void {
		this.room(to - from);
		this.used += source.copy(this.current, this.used, from, to);
	}

	writeByte(byte: number): void {
		this.room(1);
		this.current[this.used++] = byte;
	}

	writeText(text: string): void {
		this.room(Buffer.byteLength(text, 'utf8'));
		this.used += this.current.write(text, this.used, 'utf8');
	}

	/** `head`, then every byte written, as one buffer (handed over: this is empty after). */
	take(head: Buffer = Buffer.alloc(0)): Buffer {
		const chunks = [...this.full, this.current.subarray(0, this.used)];
		this.full = [];
		this.current = Buffer.alloc(0);
		this.used = 0;
		if (chunks.length === 1 && head.length <= this.headRoom) {
			// The usual case: the head goes in its room, and nothing is copied.
			const start = this.headRoom - head.length;
			head.copy(chunks[0], start);
			return chunks[0].subarray(start);
		}
		chunks[0] = chunks[0].subarray(this.headRoom);
		return Buffer.concat([head, ...chunks]);
	}
}

/**
 * The file being written while the run's body is read (the transport's row sink). JSON Lines: each
 * row goes in as one line, its bytes as the body has them when it is an object on one line (most
 * rows: nothing parsed), otherwise parsed and written again. CSV: each row is parsed and written as
 * a line of the columns known so far; the header goes in last, in room kept for it. A row that
 * brings a new column leaves the lines before it short by a field: those get an empty field for
 * each column that came later, when the file is taken (RFC 4180 wants the same number per line).
 */
export class RowFile implements RowSink {
	private bytes: FileBytes;
	private readonly columnSet = new Set<string>();
	private lastKeys: string[] | undefined;
	/** CSV: where the lines written with fewer columns end, and how many they have. */
	private shortLines: Array<{ end: number; columns: number }> = [];
	private expectedRows: number | undefined;
	columns: string[] = [];
	rows = 0;

	/** `listedColumns`: CSV columns the header starts with, whatever the rows (CSV Columns). */
	constructor(
		readonly format: FileFormat,
		private readonly listedColumns: string[] = [],
	) {
		this.bytes = this.newBytes(undefined);
		this.addColumns(listedColumns);
	}

	private newBytes(sizeHint: number | undefined): FileBytes {
		const bytes = new FileBytes(sizeHint, this.format === 'csv' ? HEADER_ROOM : 0);
		// Without the body's length: the run's row count, at the size of the rows written so far.
		bytes.estimate = (written) =>
			this.expectedRows !== undefined && this.rows > 0 && this.expectedRows > this.rows
				? Math.ceil((written / this.rows) * this.expectedRows * ESTIMATE_MARGIN) + CHUNK_BYTES
				: undefined;
		return bytes;
	}

	expect(rows: number): void {
		this.expectedRows = rows;
	}

	reset(bodyBytes?: number): void {
		this.bytes = this.newBytes(bodyBytes);
		this.columnSet.clear();
		this.columns = [];
		this.lastKeys = undefined;
		this.shortLines = [];
		this.expectedRows = undefined;
		this.rows = 0;
		this.addColumns(this.listedColumns);
	}

	row(json: RowBytes, keys: string[] | undefined, oneLine: boolean): void {
		if (this.format === 'csv' || !keys || !oneLine) {
			this.add(JSON.parse(rowText(json)) as unknown, keys);
			return;
		}
		this.addColumns(keys);
		for (const part of json.head) this.bytes.write(part, 0, part.length);
		this.bytes.write(json.chunk, json.from, json.to);
		this.bytes.writeByte(NEWLINE);
		this.rows++;
	}

	/** A row parsed: written as items mode gives it (`keys`: its keys when the scanner read them). */
	add(value: unknown, keys?: string[]): void {
		const row = asRow(value);
		this.addColumns(keys && row === value ? keys : Object.keys(row));
		this.rows++;
		if (this.format === 'jsonl') {
			this.bytes.writeText(`${JSON.stringify(row)}\n`);
			return;
		}
		let line = '';
		const columns = this.columns;
		for (let at = 0; at < columns.length; at++)
			line += at === 0 ? csvField(row[columns[at]]) : `,${csvField(row[columns[at]])}`;
		this.bytes.writeText(`${line}\r\n`);
	}

	private addColumns(keys: string[]): void {
		// The scanner hands the same array again while rows have the same keys.
		if (keys === this.lastKeys) return;
		this.lastKeys = keys;
		for (const key of keys)
			if (!this.columnSet.has(key)) {
				if (this.format === 'csv' && this.rows > 0)
					this.shortLines.push({ end: this.bytes.length, columns: this.columns.length });
				this.columnSet.add(key);
				this.columns.push(key);
			}
	}

	/** The file's bytes (handed over: the file is empty after). */
	content(): Buffer {
		if (this.format === 'jsonl') return this.bytes.take();
		// A run without rows has no columns to name unless they were listed: its file is then empty.
		const header = Buffer.from(
			this.columns.length > 0 ? `${this.columns.map(csvField).join(',')}\r\n` : '',
			'utf8',
		);
		const file = this.bytes.take(header);
		if (this.shortLines.length === 0) return file;
		return padShortLines(file, header.length, this.shortLines, this.columns.length);
	}
}

/**
 * Gives each CSV line written before a later row brought new columns an empty field per missing
 * column. Lines end at CRLF outside quotes (a quoted field may hold line breaks).
 */
function padShortLines(
	file: Buffer,
	start: number,
	shortLines: Array<{ end: number; columns: number }>,
	columns: number,
): Buffer {
	const last = start + shortLines[shortLines.length - 1].end;
	const parts: Buffer[] = [file.subarray(0, start)];
	let segment = 0;
	let quoted = false;
	let lineStart = start;
	for (let at = start; at < last; at++) {
		const byte = file[at];
		if (byte === QUOTE) quoted = !quoted;
		else if (!quoted && byte === 0x0d && file[at + 1] === 0x0a) {
			// The segment of the line that ends here (lineStart is the previous line's CRLF).
			const contentStart = lineStart === start ? start : lineStart + 2;
			while (start + shortLines[segment].end <= contentStart) segment++;
			parts.push(
				file.subarray(lineStart, at),
				Buffer.from(','.repeat(columns - shortLines[segment].columns)),
			);
			lineStart = at;
			at++;
		}
	}
	parts.push(file.subarray(lineStart));
	return Buffer.concat(parts);
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
	const resultWithoutRows: IDataObject = { ...((result ?? {}) as IDataObject) };
	delete resultWithoutRows.pages;
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
