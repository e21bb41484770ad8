/** Output One File's writer: CSV fields and lines, JSON Lines, the header. */
import { csvField, RowFile } from '../../../nodes/WebScrapeAi/runs/runFile';

test.each([
	[null, ''],
	[undefined, ''],
	['plain', 'plain'],
	[12.5, '12.5'],
	[true, 'true'],
	['a,b', '"a,b"'],
	['say "hi"', '"say ""hi"""'],
	['two\nlines', '"two\nlines"'],
	[{ a: 1 }, '"{""a"":1}"'],
	[[1, 2], '"[1,2]"'],
])('csvField(%j) is %j', (value, field) => {
	expect(csvField(value)).toBe(field);
});

const written = (format: 'csv' | 'jsonl', rows: unknown[], listed: string[] = []) => {
	const file = new RowFile(format, listed);
	for (const row of rows) file.add(row);
	return { text: file.content().toString('utf8'), file };
};

test.each([
	[
		'JSON Lines: one row per line, as given',
		'jsonl',
		[{ a: 1 }, { b: 'x' }],
		[],
		'{"a":1}\n{"b":"x"}\n',
	],
	[
		'CSV: the header from the rows, in order seen',
		'csv',
		[
			{ a: 1, b: 2 },
			{ a: 3, b: 4 },
		],
		[],
		'a,b\r\n1,2\r\n3,4\r\n',
	],
	[
		'CSV: a column that comes later pads the lines before it',
		'csv',
		[{ a: 1 }, { a: 2, c: 3 }],
		[],
		'a,c\r\n1,\r\n2,3\r\n',
	],
	[
		'CSV: listed columns first, in that order',
		'csv',
		[{ b: 2, z: 9 }],
		['z', 'a'],
		'z,a,b\r\n9,,2\r\n',
	],
	[
		'CSV: an empty run with listed columns is just the header',
		'csv',
		[],
		['sku', 'title'],
		'sku,title\r\n',
	],
	['CSV: an empty run without them is an empty file', 'csv', [], [], ''],
	[
		'CSV: a row that is not an object becomes a value column',
		'csv',
		['text'],
		[],
		'value\r\ntext\r\n',
	],
] as const)('%s', (_what, format, rows, listed, text) => {
	const result = written(format, [...rows], [...listed]);
	expect(result.text).toBe(text);
	expect(result.file.rows).toBe(rows.length);
});
