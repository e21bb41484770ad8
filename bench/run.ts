/**
 * `npm run bench`: our nodes through the real engine against the simulator. Every figure is a count
 * or a ratio against a baseline measured in the same run. `--short` is the CI mode: smaller sizes,
 * and a non-zero exit when a target is missed by more than the noise margin.
 */
import './env';

import type { IDataObject } from 'n8n-workflow';
import { request } from 'undici';

import {
	deliver,
	processedData,
	ProcessedDataTable,
	runAction,
	setUpTrigger,
} from '../test/harness/engine';
import {
	childProcess,
	collectGarbage,
	delay,
	fs,
	os,
	PACKAGE_ROOT,
	path,
	print,
	printError,
	process,
} from '../test/harness/host';
import { Simulator, TEST_KEY, fakeKey } from '../test/simulator';

const SHORT = process.argv.includes('--short');
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 2000);
/** Measured run-to-run spread of the wall-time figures on this machine; see README. */
const NOISE_MARGIN = 0.1;

interface Row {
	section: string;
	figure: string;
	value: string;
	baseline: string;
	target: string;
	ok: boolean | undefined;
}
const rows: Row[] = [];
function row(
	section: string,
	figure: string,
	value: string,
	baseline: string,
	target: string,
	ok?: boolean,
) {
	rows.push({ section, figure, value, baseline, target, ok });
	print(
		`  ${ok === undefined ? '·' : ok ? '✓' : '✗'} ${figure}: ${value} (baseline ${baseline}; target ${target})`,
	);
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const seconds = (ms: number) => `${fmt(ms / 1000, 2)} s`;
const mb = (bytes: number) => `${fmt(bytes / 1048576, 1)} MB`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
	const start = performance.now();
	const value = await fn();
	return [value, performance.now() - start];
}

// ---- 1. fan-out ------------------------------------------------------------------------------

async function fanOut(sim: Simulator, baseUrl: string): Promise<void> {
	print(`\n1. Fan-out: N recipe runs of ${RUN_MS / 1000} s each`);
	sim.addRecipe('benchFan', { durationMs: RUN_MS, pages: 1, itemsPerPage: 2 });
	// The default schedule (2 s → 10 s) is sized for real runs of 30 s – 15 min; for 2 s runs the
	// poll options are scaled down the same way for every configuration, baseline included.
	const poll = { pollInterval: RUN_MS / 20000, maxPollInterval: RUN_MS / 8000 };
	const credentials = { apiKey: TEST_KEY, baseUrl };
	const measure = async (n: number, concurrency: number) => {
		sim.clearLog();
		sim.runs.clear();
		const [result, ms] = await timed(() =>
			runAction(
				{
					resource: 'recipe',
					operation: 'run',
					recipeId: 'benchFan',
					options: { ...poll, concurrency, checkQuota: false },
				},
				Array.from({ length: n }, (_, i) => ({ i })),
				{ credentials },
			),
		);
		if (result.error || result.outputs[0]?.length !== n * 2) {
			throw new Error(`fan-out N=${n} c=${concurrency} failed: ${result.error?.message}`);
		}
		return { ms, requestsPerRun: sim.log.length / n, maxInProgress: sim.maxConcurrentRuns() };
	};

	const sizes = SHORT ? [10, 50] : [1, 10, 50, 200];
	const baselineSizes = SHORT ? [10] : [1, 10, 50];
	const baseline = new Map<number, number>();
	for (const n of baselineSizes) baseline.set(n, (await measure(n, 1)).ms);
	const perRunBaseline = baseline.get(10)! / 10;
	const baselineFor = (n: number) => baseline.get(n) ?? n * perRunBaseline;
	const label = (n: number) =>
		`${seconds(baselineFor(n))}${baseline.has(n) ? '' : ' (est. N × per-run at N=10)'}`;

	for (const n of sizes) {
		const all = await measure(n, n);
		const speedup = baselineFor(n) / all.ms;
		const needs = n === 50 ? 25 : undefined;
		row(
			'fan-out',
			`N=${n}, concurrency ${n}: wall time (speed-up ×${fmt(speedup)}, ${fmt(all.requestsPerRun)} requests/run)`,
			seconds(all.ms),
			`${label(n)} at concurrency 1`,
			needs ? `≥ ${needs}× faster` : 'report',
			needs ? speedup >= needs * (1 - NOISE_MARGIN) : undefined,
		);
		if (n >= 10) {
			const ten = await measure(n, 10);
			const bound = 1.3 * Math.ceil(n / 10) * RUN_MS;
			row(
				'fan-out',
				`N=${n}, concurrency 10: wall time (max ${ten.maxInProgress} runs in progress, ${fmt(ten.requestsPerRun)} requests/run)`,
				seconds(ten.ms),
				`${label(n)} at concurrency 1`,
				`≤ 1.3 × ⌈N/10⌉ × run = ${seconds(bound)}`,
				ten.ms <= bound * (1 + NOISE_MARGIN) && ten.maxInProgress <= 10,
			);
		}
	}
}

// ---- 1b. plan throttles ---------------------------------------------------------------------

/**
 * Batches larger than the plan allows: the ideal is what a client that knew the plan's numbers
 * exactly would take (⌈N / cap⌉ rounds of a run; N / limit minutes), measured against our node that
 * learns them from webscrape.ai's 429 answers.
 */
async function throttles(sim: Simulator, baseUrl: string): Promise<void> {
	print('\n1b. Plan throttles: batches larger than the plan allows');
	sim.addRecipe('benchCap', { durationMs: RUN_MS, pages: 1, itemsPerPage: 2 });
	const poll = { pollInterval: RUN_MS / 20000, maxPollInterval: RUN_MS / 8000 };

	const capKey = fakeKey('BENCHcap');
	sim.addKey(capKey, { credits: 1e9, runsCap: 1e9, maxConcurrent: 5 });
	const n = SHORT ? 20 : 50;
	sim.clearLog();
	const [capRun, capMs] = await timed(() =>
		runAction(
			{
				resource: 'recipe',
				operation: 'run',
				recipeId: 'benchCap',
				options: { ...poll, checkQuota: false },
			},
			Array.from({ length: n }, (_, i) => ({ i })),
			{ credentials: { apiKey: capKey, baseUrl } },
		),
	);
	if (capRun.error || capRun.outputs[0]?.length !== n * 2) {
		throw new Error(`throttled fan-out failed: ${capRun.error?.message}`);
	}
	const dispatches = sim.requests('dispatch').filter((entry) => entry.account === capKey.slice(-6));
	const accepted = dispatches.filter((entry) => entry.status === 202).length;
	const refused = dispatches.filter((entry) => entry.status === 429).length;
	const ideal = Math.ceil(n / 5) * RUN_MS;
	row(
		'throttles',
		`N=${n} runs on a plan cap of 5 in progress, default Concurrency 10: wall time (${accepted} dispatched, ${refused} refused)`,
		`${seconds(capMs)} (×${fmt(capMs / ideal, 2)})`,
		`ideal ⌈N/5⌉ × run = ${seconds(ideal)}`,
		'≤ 1.3 × ideal, one dispatch per item',
		capMs <= 1.3 * ideal * (1 + NOISE_MARGIN) && accepted === n,
	);

	// The per-minute window is 60 s and cannot be shortened: the short mode keeps to one window.
	const minuteKey = fakeKey('BENCHmin');
	const perMinute = 60;
	sim.addKey(minuteKey, { credits: 1e9, runsCap: 1e9, perMinute });
	const pages = SHORT ? 70 : 200;
	sim.clearLog();
	const [pageRun, pageMs] = await timed(() =>
		runAction(
			{ resource: 'page', operation: 'scrape', url: '={{ $json.url }}' },
			Array.from({ length: pages }, (_, i) => ({ url: `https://example.com/${i}` })),
			{ credentials: { apiKey: minuteKey, baseUrl } },
		),
	);
	if (pageRun.error || pageRun.outputs[0]?.length !== pages) {
		throw new Error(`paced scrapes failed: ${pageRun.error?.message}`);
	}
	const scrapes = sim.requests('scrape').filter((entry) => entry.account === minuteKey.slice(-6));
	const billed = scrapes.filter((entry) => entry.status === 200).length;
	const refusedPages = scrapes.filter((entry) => entry.status === 429).length;
	const beyond = pages - perMinute;
	const idealPages = (pages / perMinute) * 60_000;
	row(
		'throttles',
		`${pages} scrapes at ${perMinute} per minute: wall time (${billed} billed)`,
		`${seconds(pageMs)} (×${fmt(pageMs / idealPages, 2)})`,
		`ideal N / limit = ${seconds(idealPages)}`,
		'≤ 1.15 × ideal, each page billed once',
		pageMs <= 1.15 * idealPages * (1 + NOISE_MARGIN) && billed === pages,
	);
	row(
		'throttles',
		`${pages} scrapes at ${perMinute} per minute: refused requests`,
		`${refusedPages}`,
		`${beyond} requests beyond the limit`,
		`≤ 1.1 × ${beyond} = ${Math.floor(1.1 * beyond)}`,
		refusedPages <= 1.1 * beyond,
	);
}

// ---- 2. polling cost -------------------------------------------------------------------------

/**
 * The baseline: the vendor SDK's waitForRun loop (dispatch, then sleep 2 s, ×1.5, capped at 10 s,
 * between polls), as a plain client against the same simulator and clock.
 */
async function sdkClient(baseUrl: string, recipeId: string, scale: number) {
	const headers = { 'x-api-key': TEST_KEY };
	const dispatched = await request(`${baseUrl}/smartbrowse/recipes/${recipeId}/run`, {
		method: 'POST',
		headers,
	});
	const runId = ((await dispatched.body.json()) as { data: { run_id: string } }).data.run_id;
	let interval = 2000;
	let requests = 0;
	for (;;) {
		await delay(interval / scale);
		const response = await request(`${baseUrl}/smartbrowse/runs/${runId}`, { headers });
		const body = (await response.body.json()) as { data: { run_status: string } };
		requests++;
		if (['completed', 'failed', 'cancelled'].includes(body.data.run_status))
			return { runId, requests, done: Date.now() };
		interval = Math.min(interval * 1.5, 10000);
	}
}

async function pollingCost(baseUrl: string): Promise<void> {
	// ×10, not ×20: the detection latency is read in simulated time, so at ×20 the 10 s cap was 0.5 s
	// of real time, and a CI run beside every suite (load average 19 on 2 cores) once added more than
	// that to the engine's return (15 s measured, 9 polls against the SDK's 8).
	const scale = 10;
	print(`\n2. Polling cost (clock scaled ×${scale} in the simulator and in the poll options)`);
	const sim = new Simulator({ timeScale: scale });
	const scaledBase = await sim.start();
	try {
		for (const durationS of SHORT ? [5, 60] : [5, 60, 600]) {
			const id = `benchPoll${durationS}`;
			sim.addRecipe(id, { durationMs: durationS * 1000, itemsPerPage: 1 });
			sim.clearLog();
			sim.runs.clear();
			const result = await runAction(
				{
					resource: 'recipe',
					operation: 'run',
					recipeId: id,
					options: {
						pollInterval: 2 / scale,
						maxPollInterval: 10 / scale,
						timeout: 960 / scale,
						checkQuota: false,
					},
				},
				[{}],
				{ credentials: { apiKey: TEST_KEY, baseUrl: scaledBase } },
			);
			const done = Date.now();
			if (result.error) throw new Error(`polling ${durationS}s: ${result.error.message}`);
			const run = [...sim.runs.values()][0];
			const ours = { requests: sim.requests('run').length, latencyMs: (done - run.endsAt) * scale };
			const client = await sdkClient(scaledBase, id, scale);
			const sdk = {
				requests: client.requests,
				latencyMs: (client.done - sim.runs.get(client.runId)!.endsAt) * scale,
			};
			row(
				'polling',
				`${durationS} s run: polls per run / detection latency`,
				`${ours.requests} / ${seconds(ours.latencyMs)}`,
				`SDK ${sdk.requests} / ${seconds(sdk.latencyMs)}`,
				'polls ≤ SDK, latency ≤ 10 s cap',
				ours.requests <= sdk.requests && ours.latencyMs <= 10000 * (1 + NOISE_MARGIN),
			);
		}
	} finally {
		await sim.stop();
	}
	void baseUrl;
}

// ---- 3. large results ------------------------------------------------------------------------

const LARGE_ROUNDS = 3;

/** What bench/large-result.js prints of one run (its last line, as JSON). */
interface LargeRun {
	error?: string;
	items: number;
	bodyBytes: number;
	nodeMs: number;
	helperFetchMs: number;
	fetchMs: number;
	parseMs: number;
	peakRss: number;
	idleRss: number;
}

/** The element whose `value` is the median (the lower middle of an even count). */
function medianBy<T>(values: T[], value: (entry: T) => number): T {
	const sorted = [...values].sort((a, b) => value(a) - value(b));
	return sorted[Math.floor((sorted.length - 1) / 2)];
}

async function largeResults(sim: Simulator, baseUrl: string): Promise<void> {
	const pages = 100;
	const total = pages * 1000;
	print(
		`\n3. Large result: one run with ${total.toLocaleString('en')} items over ${pages} pages (median of ${LARGE_ROUNDS} rounds, alternating with the no-n8n floor)`,
	);
	sim.addRecipe('benchLarge', {
		durationMs: 1,
		pages,
		itemsPerPage: 1000,
		item: (page, index) => ({
			sku: `SKU-${page}-${index}`,
			title: `Product ${page}-${index} with a reasonably descriptive title`,
			price: 10 + ((page * 7 + index) % 90),
			inStock: index % 3 !== 0,
			url: `https://shop.example/p/${page}/${index}`,
		}),
	});
	sim.addRecipe('benchSmall', { durationMs: 1, pages: 1, itemsPerPage: 10 });
	const large = sim.seedCompletedRun('benchLarge');
	const small = sim.seedCompletedRun('benchSmall');
	// The simulator serialises a result once, on its first read: do that here, not in the measurement.
	await (
		await request(`${baseUrl}/smartbrowse/runs/${large.id}`, { headers: { 'x-api-key': TEST_KEY } })
	).body.text();
	// Beside this script (compiled into .cache/bench/bench).
	const script = path.join(path.dirname(process.argv[1]), 'large-result.js');
	// Asynchronous, so this process's simulator keeps answering the child.
	const child = async (...extra: string[]) => {
		const out = await new Promise<string>((resolve, reject) =>
			childProcess.execFile(
				process.execPath,
				[
					...(process.env.BENCH_CHILD_FLAGS ?? '').split(' ').filter(Boolean),
					'--expose-gc',
					script,
					baseUrl,
					TEST_KEY,
					large.id,
					small.id,
					...extra,
				],
				{ encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 },
				(error, stdout) => (error && !stdout ? reject(error) : resolve(stdout)),
			),
		);
		return JSON.parse(out.trim().split('\n').pop()!);
	};
	// Three rounds, alternating which side runs first: the floor's peak depends on when V8 collects
	// (65–81 MB above idle between runs here, ours 73–74 MB), and one pass of each failed CI once.
	const runs: LargeRun[] = [];
	const floors: LargeRun[] = [];
	for (let round = 0; round < LARGE_ROUNDS; round++) {
		const ours = async () => runs.push(await child());
		const bare = async () => floors.push(await child('bare'));
		for (const side of round % 2 === 0 ? [ours, bare] : [bare, ours]) await side();
	}
	for (const run of runs) {
		if (run.error || run.items !== total)
			throw new Error(`large result: ${run.error ?? `${run.items} items`}`);
	}
	const processing = (run: LargeRun) => Math.max(0, run.nodeMs - run.helperFetchMs);
	// The round with the median time ratio gives the time row its figures.
	const m = medianBy(runs, (run) => processing(run) / run.parseMs);
	const processingMs = processing(m);
	const ratio = processingMs / m.parseMs;
	row(
		'large result',
		`node time beyond the HTTP fetch (${mb(m.bodyBytes)} body; node total ${fmt(m.nodeMs, 0)} ms, fetch through n8n's HTTP client ${fmt(m.helperFetchMs, 0)} ms, raw undici fetch ${fmt(m.fetchMs, 0)} ms)`,
		`${fmt(processingMs, 0)} ms = ${fmt(ratio, 2)}× JSON.parse`,
		`JSON.parse ${fmt(m.parseMs, 0)} ms`,
		'≤ 2× JSON.parse',
		ratio <= 2 * (1 + NOISE_MARGIN),
	);
	const aboveIdle = (run: LargeRun) => run.peakRss - run.idleRss;
	const rss = aboveIdle(medianBy(runs, aboveIdle));
	const floorRss = aboveIdle(medianBy(floors, aboveIdle));
	row(
		'large result',
		'peak RSS above idle',
		`${mb(rss)} = ${fmt(rss / m.bodyBytes, 2)}× body`,
		`no n8n at all (fetch + JSON.parse + wrap rows): ${mb(floorRss)} = ${fmt(floorRss / m.bodyBytes, 2)}× body`,
		'≤ 4× body, or (where JSON.parse alone needs more) ≤ 1.1× the no-n8n floor',
		rss <= 4 * m.bodyBytes * (1 + NOISE_MARGIN) || rss <= floorRss * 1.1,
	);
	// Output "One File": the rows go to the file as the body arrives. Reported here; the issue's
	// targets (against items mode and the body, in real n8n) are measured by bench/large-file-real.js,
	// and a 500,000-row run in a 512 MB heap is held by e2e/large-files.e2e.js.
	for (const format of ['jsonl', 'csv']) {
		const f = await child(`file-${format}`);
		if (f.error || f.items !== total)
			throw new Error(`large result, file ${format}: ${f.error ?? `${f.items} rows`}`);
		const fileRss = f.peakRss - f.idleRss;
		row(
			'large result',
			`One File (${format}, binary data on disk): peak RSS above idle; node time`,
			`${mb(fileRss)} = ${fmt(fileRss / m.bodyBytes, 2)}× body = ${fmt(fileRss / rss, 2)}× items mode; ${fmt(f.nodeMs, 0)} ms = ${fmt(f.nodeMs / m.nodeMs, 2)}× items mode`,
			`items mode ${mb(rss)}, ${fmt(m.nodeMs, 0)} ms`,
			'report (targets: real n8n, bench:large)',
			undefined,
		);
	}
}

// ---- 4. trigger throughput -------------------------------------------------------------------

async function triggerThroughput(sim: Simulator, baseUrl: string): Promise<void> {
	const total = SHORT ? 2000 : 10000;
	print(`\n4. Trigger: ${total.toLocaleString('en')} deliveries, 10 % duplicates`);
	sim.addRecipe('benchHook', { durationMs: 1, pages: 1, itemsPerPage: 3 });
	for (const fetchRunDetails of [false, true]) {
		const unique = Math.round(total * 0.9);
		const runIds = fetchRunDetails
			? Array.from({ length: unique }, () => sim.seedCompletedRun('benchHook').id)
			: Array.from({ length: unique }, (_, i) => `run${i}`);
		// Every tenth delivery repeats a recent one (within the dedupe memory), as a retrying sender would.
		const bodies: IDataObject[] = [];
		let next = 0;
		for (let i = 0; i < total; i++) {
			const repeat = i % 10 === 9;
			const runId = repeat ? runIds[Math.max(0, next - 1 - (i % 7))] : runIds[next++];
			bodies.push({
				event: i % 2 ? 'smartbrowse.completed' : 'completed',
				run_id: runId,
				recipe_id: 'benchHook',
				timestamp: '2026-05-21T17:04:12Z',
			});
		}
		const setup = await setUpTrigger(
			{ events: ['completed', 'failed'], fetchRunDetails, output: 'run' },
			{ apiKey: TEST_KEY, baseUrl },
		);
		let emitted = 0;
		const inFlight = fetchRunDetails ? 10 : 1;
		let cursor = 0;
		const [, ms] = await timed(async () => {
			await Promise.all(
				Array.from({ length: inFlight }, async () => {
					while (cursor < bodies.length) {
						const result = await deliver(setup, { body: bodies[cursor++] });
						if (result.emitted) emitted++;
					}
				}),
			);
		});
		row(
			'trigger',
			`fetchRunDetails ${fetchRunDetails ? 'on (10 deliveries in flight)' : 'off'}: deliveries per second (each with the execution it starts)`,
			`${fmt((total / ms) * 1000, 0)}/s, ${emitted.toLocaleString('en')} emitted`,
			'—',
			`exactly ${unique.toLocaleString('en')} emitted`,
			emitted === unique,
		);
	}
}

// ---- 4b. what the records cost in a burst and a large batch ------------------------------------

/**
 * What the records cost where a burst or a batch decides it, through the harness's model of n8n's
 * helper (a row is read and written back whole): a burst of deliveries in one process, and a batch
 * far larger than the cap. What a call writes by history, on n8n's own helper over SQLite and
 * Postgres, is bench/records-real.ts.
 */
async function recordCost(baseUrl: string): Promise<void> {
	print('\n4b. Records: a burst of deliveries and a large batch');
	const bytes = (hashes: number) =>
		Buffer.byteLength(
			JSON.stringify({ mode: 'entries', data: Array(hashes).fill('x'.repeat(24)) }),
		);
	const filled = (count: number) =>
		Array.from({ length: count }, (_, index) => ProcessedDataTable.hash(`history-${index}`));
	// A burst: deliveries whose executions run at once in one process are recorded in groups.
	{
		const triggerWorkflow = 'wf-bench-delivery-burst';
		const triggerKey = `${triggerWorkflow}|n:trigger-node`;
		processedData.rows.set(triggerKey, { mode: 'entries', data: filled(1_000) });
		const setup = await setUpTrigger(
			{ events: ['completed'], fetchRunDetails: false, output: 'run' },
			{ apiKey: TEST_KEY, baseUrl },
			{ workflowId: triggerWorkflow },
		);
		const burst = 100;
		const gap = processedData.gapMs;
		processedData.gapMs = 2;
		const results = await Promise.all(
			Array.from(
				{ length: burst },
				async (_, index) =>
					await deliver(setup, {
						body: { event: 'completed', run_id: `benchBurst${index}`, recipe_id: 'benchRecipe' },
					}),
			),
		);
		processedData.gapMs = gap;
		const perDelivery = (processedData.bytesWritten.get(triggerKey) ?? 0) / burst;
		row(
			'records',
			`burst of ${burst} deliveries at once on a full row (1,000 entries), 2 ms per statement: bytes written per delivery`,
			`${fmt(perDelivery, 0)} B`,
			'27,027 B one by one',
			'each delivery emitted once',
			results.every((one) => one.emitted?.length === 1),
		);
	}
	// A batch far larger than the cap: the row a 20,000-item run keeps (folded as it goes).
	const workflowId = 'wf-bench-record-batch';
	const key = `${workflowId}|n:action-node`;
	const items = SHORT ? 2_000 : 20_000;
	const [, ms] = await timed(
		async () =>
			await runAction(
				{ resource: 'page', operation: 'scrape', url: '={{ $json.url }}' },
				Array.from({ length: items }, (_, index) => ({ url: `https://example.com/b/${index}` })),
				{
					credentials: { apiKey: TEST_KEY, baseUrl },
					workflowId,
					executionId: 'bench-record-batch',
				},
			),
	);
	const written = processedData.bytesWritten.get(key) ?? 0;
	row(
		'records',
		`${items.toLocaleString('en')}-page batch: largest row, bytes written per billed call, time`,
		`${(processedData.largestBytes.get(key) ?? 0).toLocaleString('en')} B, ${fmt(written / items, 0)} B/call, ${fmt(ms / 1000, 1)} s`,
		`before folding: ${bytes(Math.min(items, 10_000)).toLocaleString('en')} B row, claims past 10,000 pushed out`,
		'row ≤ 8 KB',
		(processedData.largestBytes.get(key) ?? 0) <= 8 * 1024,
	);
}

// ---- 5. endurance under faults ---------------------------------------------------------------

async function endurance(): Promise<void> {
	const rounds = SHORT ? 2 : 4;
	const perRound = 50;
	print(`\n5. Endurance: ${rounds * perRound} runs, 10 % of responses faulted (seeded)`);
	const sim = new Simulator({ seed: 7 });
	const baseUrl = await sim.start();
	const rss: number[] = [];
	let good = 0;
	let clearErrors = 0;
	let unclear = 0;
	let duplicateRuns = 0;
	try {
		for (let round = 0; round < rounds; round++) {
			const ids = Array.from({ length: perRound }, (_, i) => `endure${round}x${i}`);
			for (const id of ids) sim.addRecipe(id, { durationMs: 1000, pages: 1, itemsPerPage: 3 });
			sim.faultRandomly(0.1);
			const result = await runAction(
				{
					resource: 'recipe',
					operation: 'run',
					recipeId: '={{ $json.id }}',
					options: { pollInterval: 0.2, maxPollInterval: 0.5, concurrency: 50, checkQuota: false },
				},
				ids.map((id) => ({ id })),
				{ credentials: { apiKey: TEST_KEY, baseUrl }, onError: 'continueRegularOutput' },
			);
			sim.faultRandomly(0);
			const byItem = new Map<number, IDataObject[]>();
			for (const item of result.outputs[0] ?? []) {
				const index = (item.pairedItem as { item: number }).item;
				byItem.set(index, [...(byItem.get(index) ?? []), item.json]);
			}
			ids.forEach((id, index) => {
				const out = byItem.get(index) ?? [];
				if (
					out.length === 3 &&
					out.every(
						(json, i) => json.name === `Product 1-${i + 1}` && String(json.url).includes(id),
					)
				)
					good++;
				else if (
					out.length === 1 &&
					typeof out[0].error === 'string' &&
					/may have started|webscrape\.ai|Run "/.test(out[0].error)
				)
					clearErrors++;
				else unclear++;
				const runs = [...sim.runs.values()].filter((run) => run.recipeId === id).length;
				if (runs > 1) duplicateRuns++;
			});
			collectGarbage();
			rss.push(process.memoryUsage().rss);
		}
	} finally {
		await sim.stop();
	}
	row(
		'endurance',
		'items ending in their correct rows / in a clear per-item error / otherwise',
		`${good} / ${clearErrors} / ${unclear}`,
		'—',
		'0 otherwise',
		unclear === 0,
	);
	row(
		'endurance',
		'items that started more than one run',
		`${duplicateRuns}`,
		'—',
		'0',
		duplicateRuns === 0,
	);
	const growth = rss[rss.length - 1] - rss[0];
	row(
		'endurance',
		`RSS after each round of ${perRound}`,
		rss.map(mb).join(' → '),
		`first round ${mb(rss[0])}`,
		'flat (growth ≤ 32 MB)',
		growth <= 32 * 1048576,
	);
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
	print(
		`Benchmark (${SHORT ? 'short' : 'full'}) on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${mb(os.totalmem())} RAM, Node ${process.version}`,
	);
	const sim = new Simulator();
	const baseUrl = await sim.start();
	sim.addKey(TEST_KEY, { credits: 1e9, runsCap: 1e9 });
	// BENCH_ONLY=fanout,throttles,polling,large,trigger,records,endurance runs a subset.
	const only = (
		process.env.BENCH_ONLY ?? 'fanout,throttles,polling,large,trigger,records,endurance'
	).split(',');
	try {
		if (only.includes('fanout')) await fanOut(sim, baseUrl);
		if (only.includes('throttles')) await throttles(sim, baseUrl);
		if (only.includes('polling')) await pollingCost(baseUrl);
		if (only.includes('large')) await largeResults(sim, baseUrl);
		if (only.includes('trigger')) await triggerThroughput(sim, baseUrl);
		if (only.includes('records')) await recordCost(baseUrl);
	} finally {
		await sim.stop();
	}
	if (only.includes('endurance')) await endurance();

	const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
	const table = [
		`Measured ${new Date().toISOString().slice(0, 10)} (${SHORT ? 'short' : 'full'} mode) on ${machine}.`,
		'',
		'| section | figure | value | baseline (same run) | target | met |',
		'|---|---|---|---|---|---|',
		...rows.map(
			(r) =>
				`| ${r.section} | ${r.figure} | ${r.value} | ${r.baseline} | ${r.target} | ${r.ok === undefined ? '–' : r.ok ? 'yes' : '**no**'} |`,
		),
	].join('\n');
	const outDir = path.join(PACKAGE_ROOT, 'bench', 'results');
	const file = path.join(outDir, SHORT ? 'short.md' : 'full.md');
	// A subset (BENCH_ONLY) leaves the results file of the whole run as it is.
	const written = !process.env.BENCH_ONLY;
	if (written) fs.writeFileSync(file, `${table}\n`);
	print(
		`\n${table}\n\n${written ? `Written to ${path.relative(process.cwd(), file)}` : `Not written to ${path.relative(process.cwd(), file)} (BENCH_ONLY: a subset of the sections)`}`,
	);
	const missed = rows.filter((r) => r.ok === false);
	if (missed.length > 0) {
		printError(
			`\n${missed.length} target(s) missed beyond the ${NOISE_MARGIN * 100} % noise margin.`,
		);
		process.exit(1);
	}
	process.exit(0);
}

main().catch((error) => {
	printError(error);
	process.exit(1);
});
