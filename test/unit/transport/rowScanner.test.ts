/**
 * The scanner that reads a run's body as it arrives (file output): whatever the chunking, it gives
 * every row exactly as JSON.parse would, in order, and a skeleton that parses to the body without
 * its rows. Pure bytes in, text out, so checked directly; the engine tests (large-results) show it
 * in the node.
 */
import type { RowSink } from '../../../nodes/WebScrapeAi/transport/rowScanner';
import { RowScanner, rowText } from '../../../nodes/WebScrapeAi/transport/rowScanner';

function scan(body: string, chunkSizes: (index: number) => number) {
	const rows: unknown[] = [];
	const expected: number[] = [];
	const sink: RowSink = {
		reset: () => (rows.length = 0),
		expect: (count) => expected.push(count),
		row: (json, keys, oneLine) => {
			const text = rowText(json);
			expect(oneLine).toBe(!/[\r\n]/.test(text));
			const row = JSON.parse(text) as unknown;
			// An object's keys as read, each once, in order; nothing else has keys.
			const isObject = !!row && typeof row === 'object' && !Array.isArray(row);
			expect(keys && [...new Set(keys)]).toEqual(isObject ? Object.keys(row) : undefined);
			rows.push(row);
		},
	};
	const scanner = new RowScanner(sink);
	const bytes = Buffer.from(body, 'utf8');
	for (let at = 0, index = 0; at < bytes.length; index++) {
		const size = Math.max(1, chunkSizes(index));
		scanner.write(bytes.subarray(at, at + size));
		at += size;
	}
	return { rows, expected, skeleton: JSON.parse(scanner.end()) as Record<string, unknown> };
}

/** A small deterministic random source, so a failure can be reproduced. */
function random(seed: number) {
	let state = seed;
	return () => {
		state = (state * 1103515245 + 12345) % 2147483648;
		return state / 2147483648;
	};
}

const tricky = [
	'plain',
	'comma, "quoted", and\nnew line',
	'unicode: é ü 日本語 🎉',
	'brackets ] } [ { inside',
	'backslash \\ and \\" escaped quote',
	'',
	'\u0000 control \t tab',
];

function randomRow(next: () => number, depth = 0): unknown {
	const kind = Math.floor(next() * (depth > 2 ? 5 : 8));
	switch (kind) {
		case 0:
			return tricky[Math.floor(next() * tricky.length)];
		case 1:
			return Math.round(next() * 1e6) / 100;
		case 2:
			return next() < 0.5;
		case 3:
			return null;
		case 4:
			return -Math.floor(next() * 1000);
		case 5:
			return [randomRow(next, depth + 1), randomRow(next, depth + 1)];
		default: {
			const row: Record<string, unknown> = {};
			const keys = ['title', 'price', 'url', 'tags', 'key "q"', 'ключ'];
			for (const key of keys) if (next() < 0.6) row[key] = randomRow(next, depth + 1);
			return row;
		}
	}
}

function envelope(pages: unknown[][], extra: Record<string, unknown> = {}) {
	return {
		status: 'success',
		data: {
			id: 'run_1',
			run_status: 'completed',
			items_extracted: pages.flat().length,
			note: 'a value with "items": [1,2] and {"pages": []} in it',
			result: {
				mode: 'replay',
				pages: pages.map((items, page) => ({ page, items, 'items ': 'not rows' })),
				drift: 0.02,
			},
			...extra,
		},
		credits_remaining: 10,
	};
}

describe('reading a run body row by row', () => {
	it('gives every row and the body without them, whatever the chunks and spacing (200 random bodies)', () => {
		for (let seed = 1; seed <= 200; seed++) {
			const next = random(seed);
			const pages = Array.from({ length: Math.floor(next() * 4) }, () =>
				Array.from({ length: Math.floor(next() * 6) }, () => randomRow(next)),
			);
			const value = envelope(pages);
			const body =
				next() < 0.5 ? JSON.stringify(value) : JSON.stringify(value, null, next() < 0.5 ? 2 : '\t');
			const sizes = [() => 1, () => 2, () => 7, () => 1 + Math.floor(next() * 64), () => 65536];
			const { rows, expected, skeleton } = scan(body, sizes[seed % sizes.length]);
			expect(rows).toEqual(JSON.parse(JSON.stringify(pages.flat())));
			// The row count the run names before its rows (it sizes the file being written).
			expect(expected).toEqual([rows.length]);
			const withoutRows = envelope(pages.map(() => []));
			withoutRows.data.items_extracted = rows.length;
			expect(skeleton).toEqual(withoutRows);
		}
	});

	it('leaves a body without rows (a run still going, an error) whole', () => {
		const running = { status: 'success', data: { id: 'run_2', run_status: 'running' } };
		const failed = { status: 'error', error: { code: 'not_found', message: 'no run "x"' } };
		for (const value of [running, failed]) {
			const { rows, skeleton } = scan(JSON.stringify(value), () => 3);
			expect(rows).toEqual([]);
			expect(skeleton).toEqual(value);
		}
	});

	it('takes only data.result.pages[].items as rows, not items elsewhere', () => {
		const value = {
			data: {
				items: [1, 2],
				result: { items: [3], pages: [{ items: [{ a: 1 }], meta: { items: [4] } }] },
			},
			pages: [{ items: [5] }],
		};
		const { rows, skeleton } = scan(JSON.stringify(value), () => 5);
		expect(rows).toEqual([{ a: 1 }]);
		expect(skeleton).toEqual({
			data: { items: [1, 2], result: { items: [3], pages: [{ items: [], meta: { items: [4] } }] } },
			pages: [{ items: [5] }],
		});
	});
});
