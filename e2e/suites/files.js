'use strict';
/**
 * Output "One File" read by n8n's own file nodes, in real n8n on each line (registered on the
 * line's shared n8n by e2e/e2e.test.js): Extract From File reads the CSV into the same rows as items
 * mode gives (values as text, as CSV has no types; order, unicode, commas, quotes and line breaks
 * in values), and reads the JSON Lines file as text whose lines are those rows (Extract From File has
 * no JSON Lines mode: its "JSON" reads one JSON value per file). The S3 node uploads the file as it
 * is and downloads it again (to an S3-compatible endpoint on 127.0.0.1, e2e/s3-stand-in.js). And the
 * example: a large run → one CSV file → Extract From File → Convert to File (XLSX).
 */
const assert = require('node:assert/strict');
const { createHash } = require('node:crypto');
const { before, describe, test } = require('node:test');

const large = require('../large-runs');
const n8n = require('../n8n');
const { startS3StandIn } = require('../s3-stand-in');

const S3_CREDENTIAL = { id: 'wsaiS3StandIn001', name: 'S3 (stand-in on 127.0.0.1)' };
const S3_BUCKET = 'runs';
const S3 = (name, parameters) => ({
	name,
	type: 'n8n-nodes-base.s3',
	typeVersion: 1,
	parameters: { resource: 'file', bucketName: S3_BUCKET, ...parameters },
	credentials: { s3: S3_CREDENTIAL },
});

/** Values a CSV writer or reader gets wrong, and fields some rows do not have. */
function trickyRow(page, index) {
	return {
		name: `Prodüct ${page}-${index}, "special" édition`,
		note: index % 2 === 0 ? 'line one\nline two' : 'plain; with ü and 日本語 ✓',
		price: 10.5 + index,
		inStock: index % 3 !== 0,
		tags: index === 1 ? ['a', 'b'] : { kind: 'nested', n: index },
		...(index === 2 ? { extra: 'only in some rows, "quoted"' } : {}),
		empty: null,
	};
}

const EXTRACT = (operation, parameters = {}) => ({
	name: 'Extract From File',
	type: 'n8n-nodes-base.extractFromFile',
	typeVersion: 1.1,
	parameters: { operation, binaryPropertyName: 'data', ...parameters },
});

async function setup(shared) {
	const { sim } = shared;
	sim.addRecipe('fileTricky01', { pages: 2, itemsPerPage: 4, durationMs: 1, item: trickyRow });
	shared.trickyRunId = sim.seedCompletedRun('fileTricky01').id;
	const runId = shared.trickyRunId;
	shared.s3 = await startS3StandIn();
	shared.s3Run = large.seedCatalogue(sim, 5);
	return {
		credentials: [shared.s3.credential(S3_CREDENTIAL.id, S3_CREDENTIAL.name)],
		workflows: [
			large.runGetWorkflow('wsaiFilesS3Put01', shared.s3Run.runId, { output: 'file' }, [
				S3('Upload to S3', {
					operation: 'upload',
					fileName: '',
					binaryData: true,
					binaryPropertyName: 'data',
					additionalFields: {},
					tagsUi: {},
				}),
				S3('Download from S3', {
					operation: 'download',
					fileKey: "={{ $('WebScrape AI').item.json.file.name }}",
					binaryPropertyName: 'data',
				}),
				large.HASH_FILE,
			]),
			large.runGetWorkflow('wsaiFilesItems01', runId, { output: 'items' }),
			large.runGetWorkflow('wsaiFilesCsv0001', runId, { output: 'file', fileFormat: 'csv' }, [
				EXTRACT('csv', { options: { includeEmptyCells: true } }),
			]),
			large.runGetWorkflow('wsaiFilesJsonl01', runId, { output: 'file', fileFormat: 'jsonl' }, [
				EXTRACT('text', { destinationKey: 'text' }),
			]),
		],
	};
}

/** A value as a CSV cell holds it: text, nested values as JSON, nothing for null. */
const asCell = (value) =>
	value === null || value === undefined
		? ''
		: typeof value === 'object'
			? JSON.stringify(value)
			: String(value);

function register(line, shared) {
	describe(`One File read by n8n's file nodes, n8n ${n8n.LINES[line].version}`, () => {
		let itemsMode;

		before(async () => {
			const result = await n8n.executeWorkflow(shared, 'wsaiFilesItems01');
			itemsMode = result.data.resultData.runData['WebScrape AI'][0].data.main[0].map(
				(item) => item.json,
			);
			assert.equal(itemsMode.length, 8);
		});

		test('Extract From File reads the CSV into the rows items mode gives (as text), in order', async () => {
			const result = await n8n.executeWorkflow(shared, 'wsaiFilesCsv0001');
			const rows = result.data.resultData.runData['Extract From File'][0].data.main[0].map(
				(item) => item.json,
			);
			const columns = ['name', 'note', 'price', 'inStock', 'tags', 'empty', 'extra'];
			assert.deepEqual(
				rows,
				itemsMode.map((row) => Object.fromEntries(columns.map((c) => [c, asCell(row[c])]))),
			);
			assert.equal(rows[0].note, 'line one\nline two');
			assert.equal(rows[0].name, 'Prodüct 0-0, "special" édition');
		});

		test('Extract From File reads the JSON Lines file as text whose lines are the rows of items mode', async () => {
			const result = await n8n.executeWorkflow(shared, 'wsaiFilesJsonl01');
			const [item] = result.data.resultData.runData['Extract From File'][0].data.main[0];
			const lines = item.json.text.split('\n').filter((text) => text !== '');
			assert.deepEqual(
				lines.map((text) => JSON.parse(text)),
				itemsMode,
			);
		});

		test('the S3 node uploads the JSON Lines file as it is and downloads the same bytes', async () => {
			const { runId, rows, sha256 } = shared.s3Run;
			const result = await n8n.executeWorkflow(shared, 'wsaiFilesS3Put01');
			const runData = result.data.resultData.runData;
			const [file] = runData['WebScrape AI'][0].data.main[0];
			assert.equal(file.json.rows, rows);
			const stored = shared.s3.objects.get(`${S3_BUCKET}/webscrape-ai-run-${runId}.jsonl`);
			assert.ok(stored, `objects in the bucket: ${[...shared.s3.objects.keys()].join(', ')}`);
			assert.equal(stored.contentType, 'application/x-ndjson');
			assert.equal(stored.body.length, file.json.file.bytes);
			assert.equal(createHash('sha256').update(stored.body).digest('hex'), sha256);
			const [downloaded] = runData['Download from S3'][0].data.main[0];
			assert.equal(downloaded.binary.data.fileName, `webscrape-ai-run-${runId}.jsonl`);
			assert.equal(downloaded.binary.data.mimeType, 'application/x-ndjson');
			const [hashed] = runData['Hash the file'][0].data.main[0];
			assert.equal(hashed.json.sha256, sha256);
		});

		test('the example: a 20,000-row run as one CSV file, read by Extract From File, written as an XLSX spreadsheet', async () => {
			const result = await n8n.executeWorkflow(shared, 'wsaiExLargeFile1');
			const runData = result.data.resultData.runData;
			const [file] = runData['Run recipe into a CSV file'][0].data.main[0];
			assert.equal(file.json.rows, 20000);
			assert.deepEqual(file.json.columns, ['sku', 'title', 'price']);
			const rows = runData['Read the CSV'][0].data.main[0];
			assert.equal(rows.length, 20000);
			assert.deepEqual(rows[1].json, {
				sku: 'SKU-0-1',
				title: 'Product 0-1, "blue" edition',
				price: '11',
			});
			const [sheet] = runData['Write a spreadsheet'][0].data.main[0];
			assert.equal(sheet.binary.data.fileName, 'catalogue.xlsx');
			assert.equal(sheet.binary.data.fileExtension, 'xlsx');
		});
	});
}

module.exports = { setup, register };
