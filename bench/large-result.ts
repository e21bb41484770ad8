/**
 * Child process of the benchmark: one run with a very large result, fetched by the node (Run → Get,
 * output items) through the real engine, in a process of its own so its peak RSS is its own.
 * Prints one JSON line.
 */
import './env';

import { request } from 'undici';

import { loadPackage, runAction } from '../test/harness/engine';
import { collectGarbage, process, requireModule } from '../test/harness/host';

/**
 * The floor, in a process of its own: what any client pays to hold the same result, with no n8n at
 * all: fetch the body as text, JSON.parse it, wrap each row as an n8n item.
 */
async function bare(baseUrl: string, apiKey: string, runId: string): Promise<void> {
	collectGarbage();
	const idleRss = process.memoryUsage().rss;
	const response = await request(`${baseUrl}/smartbrowse/runs/${runId}`, {
		headers: { 'x-api-key': apiKey },
	});
	const data = JSON.parse(await response.body.text());
	const items = [];
	for (const page of data.data.result.pages)
		for (const json of page.items) items.push({ json, pairedItem: { item: 0 } });
	const peakRss = process.resourceUsage().maxRSS * 1024;
	process.stdout.write(`${JSON.stringify({ idleRss, peakRss, items: items.length })}\n`);
	process.exit(0);
}

async function main(): Promise<void> {
	const [baseUrl, apiKey, runId, smallRunId, mode] = process.argv.slice(2);
	if (mode === 'bare') return await bare(baseUrl, apiKey, runId);
	const credentials = { apiKey, baseUrl };
	// Output "One File" (mode file-jsonl, file-csv) stores its file as real n8n does by default in
	// one process: on disk (filesystem binary data), not as base64 in the item.
	const file = mode?.startsWith('file-') ? mode.slice('file-'.length) : undefined;
	const params = (id: string) => ({
		resource: 'run',
		operation: 'get',
		runId: id,
		output: file ? 'file' : 'items',
		...(file ? { fileFormat: file } : {}),
	});
	if (file) {
		const { Container } = await import('@n8n/di');
		const { BinaryDataService } = await import('n8n-core');
		await Container.get(BinaryDataService).init();
	}
	await loadPackage();
	// Warm up code paths (and the JIT) on a small run, so idle RSS includes the loaded engine.
	for (let i = 0; i < 3; i++) await runAction(params(smallRunId), [{}], { credentials });
	collectGarbage();
	const idleRss = process.memoryUsage().rss;

	// The node and its baselines are timed in alternation, each after a full GC, and the best of each
	// is kept: on this 2-core machine one pass of any of them varies by ±30 %, and measuring them in
	// separate blocks let one block's garbage or a noisy neighbour land on one side only.
	const gc = collectGarbage;
	// The node must fetch through n8n's HTTP helper, which is axios: time the same request with it.
	const axios = requireModule<(config: object) => Promise<{ data: string }>>('axios');
	const since = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
	let nodeMs = Infinity;
	let fetchMs = Infinity;
	let parseMs = Infinity;
	let helperFetchMs = Infinity;
	let bodyBytes = 0;
	let peakRss = 0;
	let items = 0;
	let error: string | undefined;
	// Keeps nothing of the execution but figures, so the GC before each baseline can free its rows.
	const timeNode = async () => {
		const started = process.hrtime.bigint();
		const result = await runAction(params(runId), [{}], { credentials });
		const first = result.outputs[0]?.[0]?.json;
		return {
			ms: since(started),
			items: file ? Number(first?.rows ?? 0) : (result.outputs[0]?.length ?? 0),
			error: result.error?.message,
		};
	};
	for (let round = 0; round < 5; round++) {
		gc();
		const node = await timeNode();
		nodeMs = Math.min(nodeMs, node.ms);
		// The peak of the first run is the node's own (nothing else has run yet at this size).
		if (round === 0) peakRss = process.resourceUsage().maxRSS * 1024;
		({ items, error } = node);

		gc();
		const t0 = process.hrtime.bigint();
		await axios({
			url: `${baseUrl}/smartbrowse/runs/${runId}`,
			headers: { 'X-API-Key': apiKey, Accept: 'application/json' },
			responseType: 'text',
			maxContentLength: Infinity,
			maxRedirects: 0,
		});
		helperFetchMs = Math.min(helperFetchMs, since(t0));

		gc();
		const t1 = process.hrtime.bigint();
		const response = await request(`${baseUrl}/smartbrowse/runs/${runId}`, {
			headers: { 'x-api-key': apiKey, accept: 'application/json' },
		});
		const text = await response.body.text();
		fetchMs = Math.min(fetchMs, since(t1));
		const t2 = process.hrtime.bigint();
		JSON.parse(text);
		parseMs = Math.min(parseMs, since(t2));
		bodyBytes = Buffer.byteLength(text);
	}
	process.stdout.write(
		`${JSON.stringify({ nodeMs, fetchMs, helperFetchMs, parseMs, bodyBytes, idleRss, peakRss, items, error })}\n`,
	);
	process.exit(0);
}

main().catch((error) => {
	process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`);
	process.exit(1);
});
