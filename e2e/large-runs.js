'use strict';
/**
 * Large runs in real n8n, shared by the e2e suites (e2e/large-files.e2e.js, e2e/suites/files.js)
 * and the benchmark (bench/large-file-real.js): the rows, the workflows that take them (our node in
 * items or file mode, and the by-hand workflow), and the process tree's memory while it runs.
 */
const { createHash } = require('node:crypto');
const fs = require('node:fs');

const demo = require('./demo');
const n8n = require('./n8n');
const { TEST_KEY } = require('../test/simulator');

/** A catalogue row (about 140 bytes of JSON), as a recipe that paginates a shop returns it. */
function catalogueRow(page, index) {
	return {
		sku: `SKU-${page}-${index}`,
		title: `Product ${page}-${index} with a reasonably descriptive title`,
		price: 10 + ((page * 7 + index) % 90),
		inStock: index % 3 !== 0,
		url: `https://shop.example/p/${page}/${index}`,
	};
}

/** A completed run of `pages` × 1000 catalogue rows in the simulator, and its rows' checksum. */
function seedCatalogue(sim, pages) {
	const recipeId = `catalogue${pages}`;
	sim.addRecipe(recipeId, { durationMs: 1, pages, itemsPerPage: 1000, item: catalogueRow });
	const run = sim.seedCompletedRun(recipeId);
	// The JSON Lines file our node writes holds each row as the API sent it, one per line.
	const hash = createHash('sha256');
	for (let page = 0; page < pages; page++)
		for (let index = 0; index < 1000; index++)
			hash.update(`${JSON.stringify(catalogueRow(page, index))}\n`);
	return { runId: run.id, rows: pages * 1000, sha256: hash.digest('hex') };
}

const START = {
	name: 'Start',
	type: 'n8n-nodes-base.manualTrigger',
	typeVersion: 1,
	parameters: {},
};

/** A workflow of `nodes` (name, type, typeVersion, parameters…) connected one after another. */
function chainWorkflow(id, nodes) {
	const placed = nodes.map((rest, at) => ({
		id: `${id}-${at + 1}`,
		position: [at * 200, 0],
		...rest,
	}));
	const connections = {};
	for (let at = 0; at + 1 < placed.length; at++)
		connections[placed[at].name] = {
			main: [[{ node: placed[at + 1].name, type: 'main', index: 0 }]],
		};
	return {
		id,
		name: `large runs: ${id}`,
		active: false,
		nodes: placed,
		connections,
		settings: { executionOrder: 'v1' },
	};
}

/** Manual Trigger → WebScrape AI Run → Get (`parameters`) → `tail` nodes. */
function runGetWorkflow(id, runId, parameters, tail = []) {
	const ours = {
		name: 'WebScrape AI',
		type: 'n8n-nodes-webscrape-ai.webScrapeAi',
		typeVersion: 1,
		parameters: { resource: 'run', operation: 'get', runId, ...parameters },
		credentials: demo.CREDENTIAL_REF,
	};
	return chainWorkflow(id, [START, ours, ...tail]);
}

/** What a user builds by hand: Manual Trigger → HTTP Request (GET the run) → Split Out × 2. */
function byHandWorkflow(id, simBaseUrl, runId) {
	return chainWorkflow(id, [
		START,
		{
			name: 'HTTP Request',
			type: 'n8n-nodes-base.httpRequest',
			typeVersion: 4.2,
			parameters: {
				url: `${simBaseUrl}/smartbrowse/runs/${runId}`,
				sendHeaders: true,
				headerParameters: { parameters: [{ name: 'x-api-key', value: TEST_KEY }] },
				options: {},
			},
		},
		{
			name: 'Pages',
			type: 'n8n-nodes-base.splitOut',
			typeVersion: 1,
			parameters: { fieldToSplitOut: 'data.result.pages', options: {} },
		},
		{
			name: 'Items',
			type: 'n8n-nodes-base.splitOut',
			typeVersion: 1,
			parameters: { fieldToSplitOut: 'items', options: {} },
		},
	]);
}

/** n8n's Crypto node hashing the file in `data` (it reads it as a stream from where n8n keeps it). */
const HASH_FILE = {
	name: 'Hash the file',
	type: 'n8n-nodes-base.crypto',
	typeVersion: 1,
	parameters: {
		action: 'hash',
		type: 'SHA256',
		binaryData: true,
		binaryPropertyName: 'data',
		dataPropertyName: 'sha256',
		encoding: 'hex',
	},
};

/** RSS of a process and all its descendants, from /proc. */
function treeRss(rootPid) {
	const parents = new Map();
	for (const entry of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
			parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
		} catch {
			// gone meanwhile
		}
	}
	const tree = new Set([rootPid]);
	for (let grew = true; grew; ) {
		grew = false;
		for (const [pid, ppid] of parents)
			if (!tree.has(pid) && tree.has(ppid)) {
				tree.add(pid);
				grew = true;
			}
	}
	let total = 0;
	for (const pid of tree) {
		try {
			const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
			if (match) total += Number(match[1]) * 1024;
		} catch {
			// gone meanwhile
		}
	}
	return total;
}

/** Samples a process tree's RSS every 20 ms until stopped; `stop()` gives the peak. */
function sampleRss(pid) {
	let peak = 0;
	const timer = setInterval(() => (peak = Math.max(peak, treeRss(pid))), 20);
	return {
		stop() {
			clearInterval(timer);
			return peak;
		},
	};
}

module.exports = {
	catalogueRow,
	seedCatalogue,
	runGetWorkflow,
	byHandWorkflow,
	HASH_FILE,
	treeRss,
	sampleRss,
};
