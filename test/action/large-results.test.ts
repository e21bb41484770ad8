import { createHash } from 'crypto';
import type { IBinaryData, IDataObject, INodeExecutionData } from 'n8n-workflow';

import { FAST, expectNoSecret, jsonOf, pairedOf, sleepMs, useSimulator } from '../helpers';

/**
 * Output "One File" (JSON Lines or CSV, through n8n's binary data helpers) and Rows per Item: what
 * a user with a large run gets instead of one n8n item per row.
 */
const api = useSimulator();

/** Values a CSV writer gets wrong: commas, quotes, line breaks, unicode, nested and missing fields. */
const tricky = (page: number, index: number): IDataObject => ({
	name: `Prodüct ${page}-${index}, "special" édition`,
	note: index % 2 === 0 ? 'line one\nline two' : 'plain',
	price: 10 + index,
	tags: index === 1 ? ['a', 'b'] : { kind: 'nested', n: index },
	...(index === 2 ? { extra: '日本語 ✓' } : {}),
	empty: null,
});

beforeAll(() => {
	api.sim.addRecipe('fileRecipe1', { pages: 3, itemsPerPage: 4, durationMs: 300, item: tricky });
	api.sim.addRecipe('emptyRecipe', { pages: 1, itemsPerPage: 0, durationMs: 300 });
	api.sim.addRecipe('fileFailing', {
		durationMs: 300,
		outcome: 'failed',
		error: 'target page did not load',
	});
});

const run = (recipeId: string, extra: IDataObject = {}, options: IDataObject = {}) => ({
	resource: 'recipe',
	operation: 'run',
	recipeId,
	...extra,
	options: { ...FAST, ...options },
});

const contentOf = (item: INodeExecutionData, field = 'data') =>
	Buffer.from((item.binary![field] as IBinaryData).data, 'base64').toString('utf8');

/** An independent RFC 4180 reader: fields, quotes doubled inside quoted fields, CRLF rows. */
function parseCsv(text: string): string[][] {
	const rows: string[][] = [];
	let row: string[] = [];
	let field = '';
	let quoted = false;
	for (let at = 0; at < text.length; at++) {
		const char = text[at];
		if (quoted) {
			if (char === '"' && text[at + 1] === '"') {
				field += '"';
				at++;
			} else if (char === '"') quoted = false;
			else field += char;
		} else if (char === '"') quoted = true;
		else if (char === ',') {
			row.push(field);
			field = '';
		} else if (char === '\r' && text[at + 1] === '\n') {
			row.push(field);
			rows.push(row);
			row = [];
			field = '';
			at++;
		} else field += char;
	}
	return rows;
}

describe('Output: One File', () => {
	let itemsMode: IDataObject[];
	beforeAll(async () => {
		const items = await api.run(run('fileRecipe1'));
		itemsMode = jsonOf(items.outputs[0]);
		expect(itemsMode).toHaveLength(12);
	});

	test('JSON Lines: one item with the run, the row count and columns; the file holds every row as items mode gives it', async () => {
		const { outputs, error } = await api.run(run('fileRecipe1', { output: 'file' }), [{}]);
		expect(error).toBeUndefined();
		expect(outputs[0]).toHaveLength(1);
		const [item] = outputs[0]!;
		expect(item.pairedItem).toEqual({ item: 0 });
		expect(item.json).toMatchObject({
			recipe_id: 'fileRecipe1',
			run_status: 'completed',
			rows: 12,
			columns: ['name', 'note', 'price', 'tags', 'empty', 'extra'],
			file: { format: 'jsonl' },
		});
		expect(item.json.result).toEqual(expect.not.objectContaining({ pages: expect.anything() }));
		const binary = item.binary!.data as IBinaryData;
		expect(binary.mimeType).toBe('application/x-ndjson');
		expect(binary.fileName).toMatch(/^webscrape-ai-run-\w+\.jsonl$/);
		const content = contentOf(item);
		expect((item.json.file as IDataObject).bytes).toBe(Buffer.byteLength(content));
		const lines = content.split('\n');
		expect(lines.pop()).toBe('');
		expect(lines.map((line) => JSON.parse(line))).toEqual(itemsMode);
	});

	test('CSV: a header of the fields, RFC 4180 quoting, nested values as JSON in their cell, same values and order as items mode', async () => {
		const { outputs } = await api.run(
			run('fileRecipe1', { output: 'file', fileFormat: 'csv', binaryPropertyName: 'rows' }),
		);
		const [item] = outputs[0]!;
		expect((item.binary!.rows as IBinaryData).mimeType).toBe('text/csv');
		const [header, ...rows] = parseCsv(contentOf(item, 'rows'));
		expect(header).toEqual(item.json.columns);
		expect(rows).toHaveLength(12);
		const cell = (value: unknown) =>
			value === undefined || value === null
				? ''
				: typeof value === 'object'
					? JSON.stringify(value)
					: String(value);
		expect(rows).toEqual(itemsMode.map((row) => header.map((column) => cell(row[column]))));
		expect(rows[0][0]).toBe('Prodüct 0-0, "special" édition');
		expect(rows[0][1]).toBe('line one\nline two');
	});

	test('an empty run gives an empty file (no rows, and no CSV Columns listed: no columns to name), not an error', async () => {
		for (const fileFormat of ['jsonl', 'csv']) {
			const { outputs, error } = await api.run(run('emptyRecipe', { output: 'file', fileFormat }));
			expect(error).toBeUndefined();
			const [item] = outputs[0]!;
			expect(item.json).toMatchObject({ rows: 0, columns: [], file: { bytes: 0 } });
			expect(contentOf(item)).toBe('');
		}
	});

	test('CSV Columns: the header starts with the fields listed, in their order (once each); a field not listed follows; an empty run gives just that header', async () => {
		const { outputs } = await api.run(
			run('fileRecipe1', {
				output: 'file',
				fileFormat: 'csv',
				csvColumns: ' price, name ,missing,, price',
			}),
		);
		const [item] = outputs[0]!;
		const columns = ['price', 'name', 'missing', 'note', 'tags', 'empty', 'extra'];
		expect(item.json.columns).toEqual(columns);
		const [header, ...rows] = parseCsv(contentOf(item));
		expect(header).toEqual(columns);
		expect(rows).toHaveLength(12);
		for (const [at, row] of rows.entries()) {
			expect(row).toHaveLength(columns.length);
			expect(row.slice(0, 3)).toEqual([String(itemsMode[at].price), itemsMode[at].name, '']);
		}
		expect(rows[2][6]).toBe('日本語 ✓');

		const empty = await api.run(
			run('emptyRecipe', { output: 'file', fileFormat: 'csv', csvColumns: 'sku, title' }),
		);
		expect(empty.error).toBeUndefined();
		const [emptyItem] = empty.outputs[0]!;
		expect(emptyItem.json).toMatchObject({ rows: 0, columns: ['sku', 'title'] });
		expect(contentOf(emptyItem)).toBe('sku,title\r\n');
	});

	test('a run that failed gives the same error as items mode', async () => {
		const asItems = await api.run(run('fileFailing'));
		const asFile = await api.run(run('fileFailing', { output: 'file' }));
		// The same words, for its own run.
		const words = (message?: string) => message?.replace(/Run "\w+"/, 'Run "…"');
		expect(words(asFile.error?.message)).toBe(words(asItems.error?.message));
		expect(asFile.error?.message).toMatch(/failed: target page did not load/);
	});

	test('a body cut off half-way, or answered half, is read again: the file holds each row once', async () => {
		const { outputs: dispatched } = await api.run(run('fileRecipe1', { waitForCompletion: false }));
		const runId = String(dispatched[0]![0].json.run_id);
		await sleepMs(400);
		for (const type of ['cut', 'malformed'] as const) {
			api.sim.clearLog();
			api.sim.fault({ route: 'run', type });
			const get = { resource: 'run', operation: 'get', runId, output: 'file', options: FAST };
			const { outputs, error } = await api.run(get);
			expect(error).toBeUndefined();
			expect(api.sim.requests('run').map((entry) => entry.status)).toEqual([
				type === 'cut' ? 'cut' : 200,
				200,
			]);
			const lines = contentOf(outputs[0]![0]).split('\n');
			lines.pop();
			expect(lines.map((line) => JSON.parse(line))).toEqual(itemsMode);
			expect(outputs[0]![0].json.rows).toBe(12);
		}
	});

	test('a field name that is not one fails naming the field, before anything is sent', async () => {
		api.sim.clearLog();
		const { error } = await api.run(
			run('fileRecipe1', { output: 'file', binaryPropertyName: 'my file!' }),
		);
		expect(error?.message).toBe(
			'Put Output File in Field must be a field name such as "data" [item 0]',
		);
		expect(api.sim.requests('dispatch')).toHaveLength(0);
	});
});

test('a 200,000-row run read as it arrives: the file has every row, in order (count and checksum)', async () => {
	const item = (page: number, index: number) => ({
		sku: `p${page}-${index}`,
		title: `Item ${index} of page ${page}, "quoted" ünïcode`,
		price: (page * 1000 + index) / 100,
	});
	api.sim.addRecipe('bigRecipe', { pages: 200, itemsPerPage: 1000, durationMs: 300, item });
	const { outputs, error } = await api.run(
		run('bigRecipe', { output: 'file', fileFormat: 'csv' }, { timeout: 120 }),
	);
	expect(error).toBeUndefined();
	const [file] = outputs[0]!;
	expect(file.json).toMatchObject({ rows: 200_000, columns: ['sku', 'title', 'price'] });
	const text = contentOf(file);
	const expected = ['sku,title,price'];
	for (let page = 0; page < 200; page++)
		for (let index = 0; index < 1000; index++) {
			const row = item(page, index);
			expected.push(`${row.sku},"${row.title.replace(/"/g, '""')}",${row.price}`);
		}
	const digest = (value: string) => createHash('sha256').update(value).digest('hex');
	expect(digest(text)).toBe(digest(`${expected.join('\r\n')}\r\n`));
});

test('Rows per Item 5: 12 rows in 3 items of 5, 5 and 2 rows, each paired to its input', async () => {
	const { outputs } = await api.run(run('fileRecipe1', {}, { rowsPerItem: 5 }), [{}, {}]);
	const items = outputs[0]!;
	expect(items).toHaveLength(6);
	expect(jsonOf(items).map((json) => (json.rows as IDataObject[]).length)).toEqual([
		5, 5, 2, 5, 5, 2,
	]);
	expect(pairedOf(items)).toEqual([0, 0, 0, 1, 1, 1].map((item) => ({ item })));
	expect((jsonOf(items)[2].rows as IDataObject[])[1]).toMatchObject({ price: 13 });
	expectNoSecret(api.seen);
});
