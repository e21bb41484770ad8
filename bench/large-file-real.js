'use strict';
/**
 * `npm run bench:large`: a finished run of 100,000 and of 500,000 rows taken by real n8n of each
 * line (BENCH_LINES, default "1,2"), three ways, each on a freshly started n8n server (binary data
 * on disk: N8N_DEFAULT_BINARY_DATA_MODE=filesystem, 2.x's default):
 *
 *   items:   Manual Trigger → WebScrape AI (Run → Get, Output: Extracted Items)
 *   file:    Manual Trigger → WebScrape AI (Run → Get, Output: One File, JSON Lines)
 *   by hand: Manual Trigger → HTTP Request (GET the run) → Split Out pages → Split Out items
 *
 * For each: the nodes' time (the sum of their executionTime), the time from the start until n8n
 * recorded the execution as ended (this includes saving it), the peak RSS of n8n's process tree
 * above the same server idle just before (after a warm-up run: see measure), and the bytes of the
 * execution n8n saved in its database.
 * Prints a table and writes bench/results/large-files.md. BENCH_LARGE_SIZES=100,500 (pages of
 * 1,000 rows), BENCH_LARGE_RUNS=1 (rounds; the median is kept) and BENCH_LARGE_MODES=items,file
 * (the ways, for a diagnosis; the targets need both) change the work done.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const demo = require('../e2e/demo');
const large = require('../e2e/large-runs');
const n8n = require('../e2e/n8n');
const { TEST_KEY } = require('../test/simulator');

const LINES_TO_RUN = (process.env.BENCH_LINES ?? '1,2').split(',').map(Number);
const SIZES = (process.env.BENCH_LARGE_SIZES ?? '100,500').split(',').map(Number);
const RUNS = Number(process.env.BENCH_LARGE_RUNS ?? 1);
const MODES = (process.env.BENCH_LARGE_MODES ?? 'items,file,by hand').split(',');
const RESULTS = path.join(__dirname, 'results', 'large-files.md');

const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * What n8n saved of an execution in its database (SQLite, read with the line's own sqlite3 and
 * flatted, as n8n reads it): the bytes of its data, each node's executionTime, and the rows the
 * last node output (the item count, or a file item's `rows`).
 */
function savedExecution(prepared, executionId) {
	const node =
		n8n.LINES[prepared.line].node === 24
			? path.join(n8n.ensureNode24().bin, 'node')
			: process.execPath;
	const script = `
		const [modules, database, id] = process.argv.slice(1);
		const sqlite3 = require(modules + '/sqlite3');
		const { parse } = require(modules + '/flatted');
		const db = new sqlite3.Database(database, sqlite3.OPEN_READONLY);
		db.get('SELECT data FROM execution_data WHERE executionId = ?', [id], (error, row) => {
			if (error || !row) { console.error(error ? error.message : 'no execution ' + id); process.exit(1); }
			const bytes = Buffer.byteLength(row.data);
			const { resultData } = parse(row.data);
			const times = {};
			for (const [name, runs] of Object.entries(resultData.runData)) times[name] = runs[0].executionTime;
			const output = resultData.runData[resultData.lastNodeExecuted][0].data.main[0];
			const rows = output.length === 1 && output[0].json.rows !== undefined ? output[0].json.rows : output.length;
			console.log(JSON.stringify({ bytes, times, rows }));
			db.close();
		});`;
	const args = [
		'-e',
		script,
		path.join(prepared.dir, 'node_modules'),
		path.join(prepared.userFolder, '.n8n', 'database.sqlite'),
		executionId,
	];
	// Once in a 160 MB execution (1.x, by hand), the read gave something flatted could not parse,
	// though the row in the database was whole when looked at after: read again.
	for (let attempt = 1; ; attempt++) {
		try {
			return JSON.parse(String(execFileSync(node, args, { maxBuffer: 1 << 20 })));
		} catch (error) {
			if (attempt === 3) throw error;
			execFileSync('sleep', ['2']);
		}
	}
}

/** The RSS of n8n's process tree at rest: the median of 2 s of samples. */
async function idleRss(instance) {
	const samples = [];
	for (let i = 0; i < 10; i++) {
		await new Promise((resolve) => setTimeout(resolve, 200));
		samples.push(large.treeRss(instance.child.pid));
	}
	return median(samples);
}

/** Runs one workflow on the server: its peak RSS above `idle`, its times and what n8n saved. */
async function runOnce(prepared, instance, session, key, workflowId, expectedRows, idle) {
	const rss = large.sampleRss(instance.child.pid);
	const startedAt = Date.now();
	const executionId = await n8n.runOnServer(session, prepared.line, workflowId);
	const ended = await n8n.executionOutcome(instance, key, executionId, 20 * 60 * 1000);
	const wallMs = Date.now() - startedAt;
	const peak = rss.stop();
	if (ended.status !== 'success')
		throw new Error(`${workflowId}: ${JSON.stringify(ended).slice(0, 500)}`);
	const saved = savedExecution(prepared, executionId);
	if (saved.rows !== expectedRows)
		throw new Error(`${workflowId}: ${saved.rows} rows, not ${expectedRows}`);
	return {
		nodeMs: Object.values(saved.times).reduce((sum, ms) => sum + ms, 0),
		wallMs,
		aboveIdle: peak - idle,
		saved: saved.bytes,
	};
}

/**
 * One figure on a freshly started server. Idle is taken after a warm-up: the same way of working
 * run once on 1,000 rows, so that what any first execution costs n8n (loading and compiling its
 * code, first buffers; "n8n's first run" in the table) is not counted as the large run's. The
 * warm-up's own peak above the fresh server is returned as `firstRun`.
 */
async function measure(prepared, warmUp, workflowId, expectedRows) {
	const instance = await n8n.start(prepared);
	try {
		const session = await n8n.session(instance);
		const key = await n8n.apiKey(session);
		const fresh = await idleRss(instance);
		const first = await runOnce(
			prepared,
			instance,
			session,
			key,
			warmUp.workflowId,
			warmUp.rows,
			fresh,
		);
		const idle = await idleRss(instance);
		const figures = await runOnce(prepared, instance, session, key, workflowId, expectedRows, idle);
		return { ...figures, firstRun: first.aboveIdle };
	} finally {
		await instance.stop();
	}
}

async function main() {
	const { sim } = await demo.startSimulator();
	const results = [];
	try {
		const runs = new Map();
		for (const pages of SIZES) {
			const seeded = large.seedCatalogue(sim, pages);
			const response = await fetch(`${sim.baseUrl}/smartbrowse/runs/${seeded.runId}`, {
				headers: { 'x-api-key': TEST_KEY },
			});
			runs.set(pages, { ...seeded, bodyBytes: (await response.arrayBuffer()).byteLength });
		}
		// Workflow IDs of 16 characters, as n8n makes them.
		const prefix = { items: 'Items', file: 'Files', 'by hand': 'Hands' };
		const workflowId = (pages, mode) => `wsaiLg${prefix[mode]}${String(pages).padStart(5, '0')}`;
		// The warm-ups: each way on a 1,000-row run.
		const warmUpRun = large.seedCatalogue(sim, 1);
		const workflows = [
			large.runGetWorkflow(workflowId(1, 'items'), warmUpRun.runId, { output: 'items' }),
			large.runGetWorkflow(workflowId(1, 'file'), warmUpRun.runId, { output: 'file' }),
			large.byHandWorkflow(workflowId(1, 'by hand'), sim.baseUrl, warmUpRun.runId),
		];
		const warmUp = (mode) => ({ workflowId: workflowId(1, mode), rows: warmUpRun.rows });
		for (const [pages, run] of runs) {
			workflows.push(
				large.runGetWorkflow(workflowId(pages, 'items'), run.runId, { output: 'items' }),
				large.runGetWorkflow(workflowId(pages, 'file'), run.runId, { output: 'file' }),
				large.byHandWorkflow(workflowId(pages, 'by hand'), sim.baseUrl, run.runId),
			);
		}
		for (const line of LINES_TO_RUN) {
			const prepared = await n8n.prepare(line, {
				credentials: [demo.credential(sim.baseUrl)],
				workflows,
				env: {
					N8N_DEFAULT_BINARY_DATA_MODE: 'filesystem',
					// A diagnosis knob (docs/performance.md): V8 flags for n8n's process, e.g. the young
					// generation's size. Unset in the figures the results file keeps.
					...(process.env.BENCH_N8N_NODE_OPTIONS
						? { NODE_OPTIONS: process.env.BENCH_N8N_NODE_OPTIONS }
						: {}),
				},
			});
			for (const [pages, run] of runs) {
				const figures = {};
				for (const mode of MODES) {
					const rounds = [];
					for (let round = 0; round < RUNS; round++)
						rounds.push(await measure(prepared, warmUp(mode), workflowId(pages, mode), run.rows));
					figures[mode] = Object.fromEntries(
						['nodeMs', 'wallMs', 'aboveIdle', 'saved', 'firstRun'].map((name) => [
							name,
							median(rounds.map((r) => r[name])),
						]),
					);
					const f = figures[mode];
					console.log(
						`n8n ${n8n.LINES[line].version}, ${run.rows} rows, ${mode}: nodes ${seconds(f.nodeMs)}, until saved ${seconds(f.wallMs)}, peak RSS above idle ${mb(f.aboveIdle)} (n8n's first run on 1,000 rows: ${mb(f.firstRun)}), saved execution ${kb(f.saved)}`,
					);
				}
				results.push({
					version: n8n.LINES[line].version,
					rows: run.rows,
					bodyBytes: run.bodyBytes,
					figures,
				});
			}
		}
	} finally {
		await sim.stop();
	}
	report(results);
}

function report(results) {
	const lines = [
		`Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${RUNS} round(s) per figure (median), each on a freshly started n8n; binary data on disk. Idle: the server at rest after a warm-up (the same way on 1,000 rows; its own peak above the fresh server is "n8n's first run").`,
		'',
		"| n8n | rows (body) | way | nodes' time | start → execution saved | peak RSS above idle | n8n's first run | saved execution |",
		'|---|---|---|---|---|---|---|---|',
	];
	const targets = [];
	for (const r of results) {
		for (const mode of MODES) {
			const f = r.figures[mode];
			lines.push(
				`| ${r.version} | ${r.rows.toLocaleString('en')} (${mb(r.bodyBytes)}) | ${mode} | ${seconds(f.nodeMs)} | ${seconds(f.wallMs)} | ${mb(f.aboveIdle)} | ${mb(f.firstRun)} | ${kb(f.saved)} |`,
			);
		}
		const file = r.figures.file;
		const items = r.figures.items;
		if (!file || !items) continue;
		const check = (what, value, target, met) =>
			targets.push(
				`| ${r.version} | ${r.rows.toLocaleString('en')} | ${what} | ${value} | ${target} | ${met ? 'yes' : '**no**'} |`,
			);
		check(
			'file: peak RSS above idle ÷ items mode',
			`${(file.aboveIdle / items.aboveIdle).toFixed(2)}×`,
			'≤ 0.35×',
			file.aboveIdle <= 0.35 * items.aboveIdle,
		);
		check(
			'file: peak RSS above idle ÷ body',
			`${(file.aboveIdle / r.bodyBytes).toFixed(2)}×`,
			'≤ 2×',
			file.aboveIdle <= 2 * r.bodyBytes,
		);
		check('file: saved execution', kb(file.saved), '< 10 KB', file.saved < 10 * 1024);
		check(
			"file: nodes' time ÷ items mode",
			`${(file.nodeMs / items.nodeMs).toFixed(2)}×`,
			'≤ 1.1×',
			file.nodeMs <= 1.1 * items.nodeMs,
		);
	}
	lines.push(
		'',
		'| n8n | rows | figure | value | target | met |',
		'|---|---|---|---|---|---|',
		...targets,
	);
	const text = `${lines.join('\n')}\n`;
	console.log(`\n${text}`);
	fs.writeFileSync(RESULTS, text);
	console.log(`Written to ${path.relative(process.cwd(), RESULTS)}`);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
