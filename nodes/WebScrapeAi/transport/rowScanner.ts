/**
 * Reads a run's JSON body as it arrives and hands each extracted row (every element of
 * `data.result.pages[].items[]`) to a sink as its own JSON text, keeping the rest of the body (the
 * envelope, the run, each page with an empty `items`) as a small JSON text to parse whole. So a
 * 500,000-row body is never held, neither as text nor parsed: only one row at a time, and the
 * chunk being read. Bytes are scanned, not characters: every structural character is ASCII, and
 * no byte of a multi-byte UTF-8 character is below 0x80, so a character split between two chunks
 * is joined before it is decoded.
 */

/**
 * A row's JSON as the body has it: the slices of earlier chunks it began in (`head`, usually none),
 * then `chunk` from `from` to `to`. Offsets, not a slice per row: a view per row was most of the
 * time (and of the garbage) a 100,000-row run took. Valid only during the call: copy what is kept.
 */
export interface RowBytes {
	head: Buffer[];
	chunk: Buffer;
	from: number;
	to: number;
}

/** A row's JSON text. */
export function rowText(json: RowBytes): string {
	if (json.head.length === 0) return json.chunk.toString('utf8', json.from, json.to);
	return Buffer.concat([...json.head, json.chunk.subarray(json.from, json.to)]).toString('utf8');
}

/** Where the rows go. */
export interface RowSink {
	/** A new attempt of the request: forget earlier rows; the body's length when it is known. */
	reset(bodyBytes?: number): void;
	/**
	 * One row: its JSON's bytes; for an object its keys, in order (the same array as the row
	 * before's when they are the same keys); and whether it is written on one line.
	 */
	row(json: RowBytes, keys: string[] | undefined, oneLine: boolean): void;
	/** How many rows the run says it has (`data.items_extracted`), when it says so before them. */
	expect?(rows: number): void;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

function isSpace(byte: number): boolean {
	return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

interface Frame {
	array: boolean;
	/** Objects: the key whose value is being read, and whether the next string is a key. */
	key: string;
	expectKey: boolean;
}

/** The path to a page's rows: root.data.result.pages[n].items */
const ROWS_PATH = ['data', 'result', 'pages', '', 'items'];

export class RowScanner {
	private readonly stack: Frame[] = [];
	/** The body without the rows, as the slices of the chunks that hold it. */
	private readonly skeleton: Buffer[] = [];
	/** Reading a string: whether a "\" came last, and the key's bytes when it is a key. */
	private inString = false;
	private escaped = false;
	private readonly key = new SplitString();
	/** Reading the number of data.items_extracted, digit by digit. */
	private rowCount: number | undefined;
	/** Inside a page's `items` array: the row being read (its slices, its depth, its own string). */
	private inRows = false;
	/** The row handed to the sink (one object, reused); its head holds the slices of earlier chunks. */
	private readonly row: RowBytes = { head: [], chunk: Buffer.alloc(0), from: 0, to: 0 };
	private rowStarted = false;
	private rowDepth = 0;
	private rowInString = false;
	private rowEscaped = false;
	private rowIsScalar = false;
	/** An object row: its keys, whether a key comes next, the key being read; a line break seen. */
	private readonly keys = new RowKeys();
	private rowIsObject = false;
	private rowExpectKey = false;
	private readonly rowKey = new SplitString();
	private rowLineBreak = false;

	/** A scanner per attempt of the request: the sink forgets what an earlier attempt gave it. */
	constructor(
		private readonly sink: RowSink,
		bodyBytes?: number,
	) {
		sink.reset(bodyBytes);
	}

	write(chunk: Buffer): void {
		let from = 0;
		const length = chunk.length;
		for (let at = 0; at < length; at++) {
			if (this.inRows) {
				const closedAt = this.scanRows(chunk, at);
				if (closedAt !== -1) {
					// The `]` that closes the rows goes to the skeleton: from it on, the body is read as usual.
					from = closedAt;
					at = closedAt - 1;
					continue;
				}
				from = length;
				break;
			}
			const byte = chunk[at];
			if (this.inString) {
				if (this.escaped) this.escaped = false;
				else if (byte === BACKSLASH) this.escaped = true;
				else if (byte === QUOTE) {
					this.inString = false;
					if (this.key.open) {
						const key = this.key.end(chunk, at);
						this.top().key = key.bytes.toString('utf8', key.from, key.to);
						// data.items_extracted: how many rows are coming (the run names it before them).
						this.rowCount =
							this.stack.length === 2 &&
							this.stack[0].key === 'data' &&
							this.top().key === 'items_extracted'
								? 0
								: undefined;
					}
				}
				continue;
			}
			if (this.rowCount !== undefined) {
				if (byte >= 0x30 && byte <= 0x39) {
					this.rowCount = this.rowCount * 10 + (byte - 0x30);
					continue;
				}
				if (byte !== COLON && !isSpace(byte)) {
					if (byte === COMMA || byte === CLOSE_OBJECT) this.sink.expect?.(this.rowCount);
					this.rowCount = undefined;
				}
			}
			switch (byte) {
				case QUOTE: {
					this.inString = true;
					const frame = this.stack[this.stack.length - 1];
					if (frame && !frame.array && frame.expectKey) {
						frame.expectKey = false;
						this.key.start(at + 1);
					}
					break;
				}
				case OPEN_OBJECT:
					this.stack.push({ array: false, key: '', expectKey: true });
					break;
				case OPEN_ARRAY:
					this.stack.push({ array: true, key: '', expectKey: false });
					if (this.atRowsPath()) {
						this.skeleton.push(chunk.subarray(from, at + 1));
						from = at + 1;
						this.inRows = true;
						this.rowStarted = false;
					}
					break;
				case CLOSE_OBJECT:
				case CLOSE_ARRAY:
					this.stack.pop();
					break;
				case COMMA: {
					const frame = this.stack[this.stack.length - 1];
					if (frame && !frame.array) frame.expectKey = true;
					break;
				}
				case COLON:
					break;
			}
		}
		this.key.carry(chunk);
		if (from < length) this.skeleton.push(chunk.subarray(from, length));
	}

	/**
	 * The body without its rows, to parse whole; each page keeps an empty `items`. (A body cut
	 * short leaves its last row unread and its skeleton unparsable: an error, as a cut body is.)
	 */
	end(): string {
		return Buffer.concat(this.skeleton).toString('utf8');
	}

	private top(): Frame {
		return this.stack[this.stack.length - 1];
	}

	private atRowsPath(): boolean {
		const stack = this.stack;
		// The frame just pushed is the rows array; the five before it are root, data, result, pages, a page.
		if (stack.length !== ROWS_PATH.length + 1) return false;
		for (let depth = 0; depth < ROWS_PATH.length; depth++) {
			const frame = stack[depth];
			const want = ROWS_PATH[depth];
			if (want === '' ? !frame.array : frame.array || frame.key !== want) return false;
		}
		return true;
	}

	/**
	 * Reads rows from `at` to the end of the chunk, or to the `]` that closes the page's items, and
	 * returns where that `]` is (reading as usual resumes there), or -1 when the chunk ended first.
	 * The row's state lives in locals while the loop runs (kept in fields between chunks): this loop
	 * reads every byte of every row, and fields cost a load and a store per byte.
	 */
	private scanRows(chunk: Buffer, at: number): number {
		const length = chunk.length;
		let started = this.rowStarted;
		let depth = this.rowDepth;
		let inString = this.rowInString;
		let escaped = this.rowEscaped;
		let scalar = this.rowIsScalar;
		let isObject = this.rowIsObject;
		let expectKey = this.rowExpectKey;
		let lineBreak = this.rowLineBreak;
		let rowFrom = started ? at : -1;
		let closedAt = -1;
		let i = at;
		for (; i < length; i++) {
			let byte = chunk[i];
			if (!started) {
				if (isSpace(byte) || byte === COMMA) continue;
				if (byte === CLOSE_ARRAY) {
					closedAt = i;
					break;
				}
				started = true;
				depth = byte === OPEN_OBJECT || byte === OPEN_ARRAY ? 1 : 0;
				inString = byte === QUOTE;
				escaped = false;
				scalar = depth === 0 && !inString;
				isObject = byte === OPEN_OBJECT;
				expectKey = isObject;
				lineBreak = false;
				this.keys.start();
				rowFrom = i;
				continue;
			}
			if (inString) {
				if (escaped) {
					escaped = false;
					continue;
				}
				// Most of a row's bytes are in its strings: run to the next quote or backslash.
				while (byte !== QUOTE && byte !== BACKSLASH && ++i < length) byte = chunk[i];
				if (i === length) break;
				if (byte === BACKSLASH) {
					escaped = true;
					continue;
				}
				inString = false;
				if (this.rowKey.open) {
					const key = this.rowKey.end(chunk, i);
					this.keys.add(key.bytes, key.from, key.to);
				}
				// A row that is a string ends with its closing quote.
				if (depth === 0) {
					this.emitRow(chunk, rowFrom, i + 1, isObject, lineBreak);
					started = false;
					rowFrom = -1;
				}
				continue;
			}
			if (scalar) {
				if (isSpace(byte) || byte === COMMA || byte === CLOSE_ARRAY) {
					this.emitRow(chunk, rowFrom, i, isObject, lineBreak);
					started = false;
					rowFrom = -1;
					if (byte === CLOSE_ARRAY) {
						closedAt = i;
						break;
					}
				}
				continue;
			}
			if (byte === QUOTE) {
				inString = true;
				if (expectKey && depth === 1) {
					expectKey = false;
					this.rowKey.start(i + 1);
				}
			} else if (byte === COMMA) {
				if (isObject && depth === 1) expectKey = true;
			} else if (byte === 0x0a || byte === 0x0d) {
				lineBreak = true;
			} else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++;
			else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
				depth--;
				if (depth === 0) {
					this.emitRow(chunk, rowFrom, i + 1, isObject, lineBreak);
					started = false;
					rowFrom = -1;
				}
			}
		}
		this.rowStarted = started;
		this.rowDepth = depth;
		this.rowInString = inString;
		this.rowEscaped = escaped;
		this.rowIsScalar = scalar;
		this.rowIsObject = isObject;
		this.rowExpectKey = expectKey;
		this.rowLineBreak = lineBreak;
		if (closedAt !== -1) {
			this.inRows = false;
			return closedAt;
		}
		if (started && rowFrom !== -1) this.row.head.push(chunk.subarray(rowFrom, length));
		this.rowKey.carry(chunk);
		return -1;
	}

	/** Hands the row that ends at chunk[to] to the sink. */
	private emitRow(
		chunk: Buffer,
		from: number,
		to: number,
		isObject: boolean,
		lineBreak: boolean,
	): void {
		const row = this.row;
		row.chunk = chunk;
		row.from = from;
		row.to = to;
		this.sink.row(row, isObject ? this.keys.end() : undefined, !lineBreak);
		if (row.head.length > 0) row.head = [];
	}
}

/** The bytes of a string being read, which may run from one chunk into the next. */
class SplitString {
	private parts: Buffer[] | undefined;
	private from = 0;

	get open(): boolean {
		return this.parts !== undefined;
	}

	start(from: number): void {
		this.parts = [];
		this.from = from;
	}

	/** Ends it before `to` in `chunk`: where its bytes are (in the chunk itself when it began there). */
	end(chunk: Buffer, to: number): { bytes: Buffer; from: number; to: number } {
		const parts = this.parts ?? [];
		this.parts = undefined;
		if (parts.length === 0) return { bytes: chunk, from: this.from, to };
		parts.push(chunk.subarray(this.from, to));
		const bytes = Buffer.concat(parts);
		return { bytes, from: 0, to: bytes.length };
	}

	/** The chunk ends inside the string: keep its part; it goes on from the next chunk's start. */
	carry(chunk: Buffer): void {
		this.parts?.push(chunk.subarray(this.from));
		this.from = 0;
	}
}

/** Whether source[from, to) holds `known`'s bytes (keys are short: a loop beats a native call). */
function sameBytes(source: Buffer, from: number, to: number, known: Buffer): boolean {
	if (known.length !== to - from) return false;
	for (let at = 0; at < known.length; at++) if (source[from + at] !== known[at]) return false;
	return true;
}

/**
 * The keys of one row after another. A run's rows mostly have the same keys in the same order, so a
 * key is compared in place with the one the row before had at its place and decoded only when it
 * differs; a row whose keys all match gets the row before's array itself. So reading the keys of
 * 500,000 rows allocates next to nothing.
 */
class RowKeys {
	private names: string[] = [];
	private bytes: Buffer[] = [];
	private count = 0;
	/** This row's keys and their bytes, from its first key that differs. */
	private changed: { names: string[]; bytes: Buffer[] } | undefined;

	start(): void {
		this.count = 0;
		this.changed = undefined;
	}

	add(source: Buffer, from: number, to: number): void {
		const at = this.count++;
		const known = this.bytes[at];
		if (!this.changed && known !== undefined && sameBytes(source, from, to, known)) return;
		this.changed ??= { names: this.names.slice(0, at), bytes: this.bytes.slice(0, at) };
		const bytes = Buffer.from(source.subarray(from, to));
		const text = bytes.toString('utf8');
		this.changed.names.push(bytes.includes(BACKSLASH) ? (JSON.parse(`"${text}"`) as string) : text);
		this.changed.bytes.push(bytes);
	}

	end(): string[] {
		if (!this.changed && this.count === this.names.length) return this.names;
		const changed = this.changed ?? {
			names: this.names.slice(0, this.count),
			bytes: this.bytes.slice(0, this.count),
		};
		this.names = changed.names;
		this.bytes = changed.bytes;
		return this.names;
	}
}
