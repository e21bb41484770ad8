'use strict';
/** The demo set-up shared by `npm start` and the end-to-end tests: simulator, credential, examples. */
const fs = require('node:fs');
const path = require('node:path');

const { Simulator, TEST_KEY } = require('../test/simulator');

const EXAMPLES_DIR = path.resolve(__dirname, '..', 'examples');
const CREDENTIAL_ID = 'wsaiDemoCred0001';
const CREDENTIAL_NAME = 'WebScrape AI (local simulator)';
/** How a workflow node names the demo credential. */
const CREDENTIAL_REF = { webScrapeAiApi: { id: CREDENTIAL_ID, name: CREDENTIAL_NAME } };
const WEBHOOK_SECRET = 'Bearer demo-webhook-secret';
const TRIGGER_WORKFLOW_ID = 'wsaiExTrigger001';
const MCP_WORKFLOW_ID = 'wsaiExMcpTools01';

function examples() {
	return fs
		.readdirSync(EXAMPLES_DIR)
		.filter((file) => file.endsWith('.json'))
		.sort()
		.map((file) => JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')));
}

/** The trigger example's production URL on an n8n at `n8nBaseUrl`. */
function triggerUrl(n8nBaseUrl) {
	const workflow = examples().find((candidate) => candidate.id === TRIGGER_WORKFLOW_ID);
	const trigger = workflow.nodes.find((node) => node.type.endsWith('.webScrapeAiTrigger'));
	return `${n8nBaseUrl}/webhook/${trigger.webhookId}/webhook`;
}

/** A simulator with the recipes the examples use. `runMs` sets how long a run takes. */
async function startSimulator({ port = 0, runMs = 5000 } = {}) {
	const sim = new Simulator();
	const baseUrl = await sim.start(port);
	sim.addRecipe('m3Yc2tFvN8q', { pages: 3, itemsPerPage: 4, durationMs: runMs });
	// A catalogue of 20 pages × 1,000 rows, for the example that takes a run as one file.
	sim.addRecipe('demoCatalog1', {
		pages: 20,
		itemsPerPage: 1000,
		durationMs: Math.min(runMs, 3000),
		item: (page, index) => ({
			sku: `SKU-${page}-${index}`,
			title: `Product ${page}-${index}, "${index % 2 ? 'blue' : 'grün'}" edition`,
			price: 10 + ((page * 7 + index) % 90),
		}),
	});
	sim.addRecipe('demoFailing1', {
		durationMs: Math.min(runMs, 3000),
		outcome: 'failed',
		error: 'target page did not load within timeout',
	});
	return { sim, baseUrl };
}

/** Points every demo recipe's webhook at the trigger example, with the credential's header. */
function wireWebhooks(sim, n8nBaseUrl) {
	for (const id of ['m3Yc2tFvN8q', 'demoFailing1']) {
		sim.recipes.get(id).webhook = {
			url: triggerUrl(n8nBaseUrl),
			headers: { Authorization: WEBHOOK_SECRET },
		};
	}
}

/** Resolves with `check()`'s first truthy value; throws after `timeoutMs`. */
async function until(what, check, timeoutMs = 30000) {
	const started = Date.now();
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 300));
	}
}

/** n8n answers a trigger's webhook a moment after activation: wait until a bad delivery gets 401. */
async function waitForTrigger(n8nBaseUrl) {
	await until(`the trigger webhook on ${n8nBaseUrl}`, async () => {
		const response = await fetch(triggerUrl(n8nBaseUrl), {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: '{}',
		});
		return response.status === 401;
	});
}

function credential(simBaseUrl) {
	return {
		id: CREDENTIAL_ID,
		name: CREDENTIAL_NAME,
		type: 'webScrapeAiApi',
		data: {
			apiKey: TEST_KEY,
			baseUrl: simBaseUrl,
			webhookHeaderName: 'Authorization',
			webhookHeaderValue: WEBHOOK_SECRET,
		},
	};
}

module.exports = {
	examples,
	startSimulator,
	wireWebhooks,
	credential,
	triggerUrl,
	until,
	waitForTrigger,
	TRIGGER_WORKFLOW_ID,
	MCP_WORKFLOW_ID,
	CREDENTIAL_REF,
	WEBHOOK_SECRET,
	TEST_KEY,
};
