'use strict';
/**
 * `npm run test:e2e:queue`: the package under n8n's distributed engine, per release line
 * (E2E_LINES, default "1,2"): Postgres, Redis, one main, two workers, two webhook processes.
 * - The action node runs on a worker in a webhook-started production execution.
 * - The trigger receives deliveries spread over both webhook processes; every distinct delivery
 *   starts one execution, and repeats (to the other process, then to the same one) are counted.
 * The duplicate counts are printed (DUPLICATES line) for the README's queue-mode section.
 */
const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const demo = require('./demo');
const n8n = require('./n8n');
const queue = require('./queue');

const LINES_TO_TEST = (process.env.E2E_LINES ?? '1,2').split(',').map(Number);
const DELIVERIES = Number(process.env.QUEUE_DELIVERIES ?? 40);
const AT_ONCE = 10;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, timeoutMs = 60000) {
	const started = Date.now();
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
		await sleep(500);
	}
}

/** Webhook → Split Out → Recipe → Run (output run) → Run → Get (rows) → Page → Scrape each row. */
const ACTION_WORKFLOW = {
	id: 'wsaiQueueAction1',
	name: 'queue mode: action node on a worker',
	active: false,
	nodes: [
		{
			parameters: {
				httpMethod: 'POST',
				path: 'wsai-queue-run',
				responseMode: 'lastNode',
				responseData: 'allEntries',
				options: {},
			},
			id: 'd0000000-0000-4000-8000-000000000001',
			name: 'Webhook',
			type: 'n8n-nodes-base.webhook',
			typeVersion: 2,
			position: [0, 0],
			webhookId: '7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f',
		},
		{
			parameters: { fieldToSplitOut: 'body.recipes', options: {} },
			id: 'd0000000-0000-4000-8000-000000000002',
			name: 'One item per recipe',
			type: 'n8n-nodes-base.splitOut',
			typeVersion: 1,
			position: [200, 0],
		},
		{
			parameters: {
				resource: 'recipe',
				operation: 'run',
				recipeId: '={{ $json.id }}',
				output: 'run',
				options: { pollInterval: 0.5, maxPollInterval: 1 },
			},
			id: 'd0000000-0000-4000-8000-000000000003',
			name: 'Run recipe',
			type: 'n8n-nodes-webscrape-ai.webScrapeAi',
			typeVersion: 1,
			position: [400, 0],
			credentials: {
				webScrapeAiApi: { id: 'wsaiDemoCred0001', name: 'WebScrape AI (local simulator)' },
			},
		},
		{
			parameters: {
				resource: 'run',
				operation: 'get',
				runId: '={{ $json.id }}',
				output: 'items',
				options: {},
			},
			id: 'd0000000-0000-4000-8000-000000000004',
			name: 'Get the rows',
			type: 'n8n-nodes-webscrape-ai.webScrapeAi',
			typeVersion: 1,
			position: [600, 0],
			credentials: {
				webScrapeAiApi: { id: 'wsaiDemoCred0001', name: 'WebScrape AI (local simulator)' },
			},
		},
		{
			parameters: { resource: 'page', operation: 'scrape', url: '={{ $json.url }}', options: {} },
			id: 'd0000000-0000-4000-8000-000000000005',
			name: 'Scrape each row',
			type: 'n8n-nodes-webscrape-ai.webScrapeAi',
			typeVersion: 1,
			position: [800, 0],
			credentials: {
				webScrapeAiApi: { id: 'wsaiDemoCred0001', name: 'WebScrape AI (local simulator)' },
			},
		},
	],
	connections: {
		Webhook: { main: [[{ node: 'One item per recipe', type: 'main', index: 0 }]] },
		'One item per recipe': { main: [[{ node: 'Run recipe', type: 'main', index: 0 }]] },
		'Run recipe': { main: [[{ node: 'Get the rows', type: 'main', index: 0 }]] },
		'Get the rows': { main: [[{ node: 'Scrape each row', type: 'main', index: 0 }]] },
	},
	settings: { executionOrder: 'v1' },
};

for (const line of LINES_TO_TEST) {
	describe(`queue mode, n8n ${n8n.LINES[line].version}`, { timeout: 20 * 60 * 1000 }, () => {
		let sim;
		let topology;
		let key;
		const triggerPath = new URL(demo.triggerUrl('http://x')).pathname;

		const executionsOf = async (workflowId) => {
			const all = [];
			let cursor;
			do {
				const result = await n8n.publicApi(
					topology.main,
					key,
					'GET',
					`/executions?workflowId=${workflowId}&limit=250${cursor ? `&cursor=${cursor}` : ''}`,
				);
				assert.equal(result.status, 200, JSON.stringify(result.body));
				all.push(...result.body.data);
				cursor = result.body.nextCursor;
			} while (cursor);
			return all;
		};

		before(async () => {
			({ sim } = await demo.startSimulator({ runMs: 1500 }));
			sim.addRecipe('queueRecipe2', { pages: 1, itemsPerPage: 3, durationMs: 1500 });
			topology = await queue.startTopology(line, {
				credentials: [demo.credential(sim.baseUrl)],
				workflows: [...demo.examples(), ACTION_WORKFLOW],
				activate: [demo.TRIGGER_WORKFLOW_ID, ACTION_WORKFLOW.id],
			});
			const session = await n8n.session(topology.main);
			key = await n8n.apiKey(session);
			// Both webhook processes serve the trigger once they have read main's activation.
			for (const base of topology.webhookBaseUrls) {
				await until(`the trigger on ${base}`, async () => {
					const response = await fetch(`${base}${triggerPath}`, {
						method: 'POST',
						headers: { 'content-type': 'application/json' },
						body: '{}',
					});
					return response.status === 401;
				});
			}
		});

		after(async () => {
			await topology?.stop();
			await sim?.stop();
		});

		test('the action node runs on a worker: Recipe → Run, Run → Get and Page → Scrape in a webhook-started execution', async () => {
			sim.clearLog();
			const response = await fetch(`${topology.webhookBaseUrls[0]}/webhook/wsai-queue-run`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({
					recipes: [{ id: 'm3Yc2tFvN8q' }, { id: 'queueRecipe2' }, { id: 'm3Yc2tFvN8q' }],
				}),
			});
			const text = await response.text();
			assert.equal(response.status, 200, text);
			const rows = JSON.parse(text);
			// 12 + 3 + 12 rows, each scraped once.
			assert.equal(rows.length, 27);
			assert.ok(rows.every((row) => row.html && row.credits_used === 1));
			assert.equal(sim.requests('dispatch').length, 3);
			assert.equal(sim.requests('scrape').length, 27);

			const executions = await executionsOf(ACTION_WORKFLOW.id);
			assert.equal(executions.length, 1);
			const id = String(executions[0].id);
			assert.equal(executions[0].status ?? (executions[0].finished ? 'success' : ''), 'success');
			// It ran on one of the workers, not on the webhook process or main.
			const ranOn = ['worker1', 'worker2'].filter((name) =>
				new RegExp(`execution[^\\n]{0,40}\\b${id}\\b`, 'i').test(topology.output(name)),
			);
			assert.equal(ranOn.length, 1, `execution ${id} not found in a worker's log`);
		});

		test(`trigger on two webhook processes: ${DELIVERIES} distinct deliveries, then every one repeated to the other process and to the same one`, async () => {
			const runs = Array.from({ length: DELIVERIES }, () => sim.seedCompletedRun('m3Yc2tFvN8q'));
			const headers = { Authorization: demo.WEBHOOK_SECRET };
			const deliverRound = async (processOf) => {
				let started = 0;
				for (let offset = 0; offset < runs.length; offset += AT_ONCE) {
					const batch = runs.slice(offset, offset + AT_ONCE);
					const results = await Promise.all(
						batch.map(async (run, index) => {
							const url = `${topology.webhookBaseUrls[processOf(offset + index)]}${triggerPath}`;
							await sim.deliver(run.id, { url, headers });
							return sim.deliveries[sim.deliveries.length - 1];
						}),
					);
					for (const record of sim.deliveries.slice(-batch.length)) {
						assert.equal(record.status, 200, record.error ?? record.responseBody);
						if (JSON.parse(record.responseBody).started) started++;
					}
					void results;
				}
				return started;
			};
			const settled = async (expected) =>
				await until(
					`${expected} finished trigger executions`,
					async () => {
						const executions = await executionsOf(demo.TRIGGER_WORKFLOW_ID);
						const done = executions.filter(
							(execution) => execution.finished || execution.stoppedAt,
						);
						return done.length >= expected && executions.length === expected ? executions : false;
					},
					120000,
				);
			const baseline = (await executionsOf(demo.TRIGGER_WORKFLOW_ID)).length;

			const first = await deliverRound((index) => index % 2);
			await settled(baseline + first);
			await sleep(2000);
			const toOther = await deliverRound((index) => (index + 1) % 2);
			await sleep(2000);
			const toSame = await deliverRound((index) => (index + 1) % 2);
			await sleep(3000);
			const total = (await executionsOf(demo.TRIGGER_WORKFLOW_ID)).length - baseline;
			console.log(
				`DUPLICATES n8n ${n8n.LINES[line].version}: ${DELIVERIES} distinct deliveries (${AT_ONCE} at a time, alternating) started ${first}; repeats 2 s later to the other process started ${toOther}; repeats to the same process started ${toSame}; executions ${total}`,
			);
			assert.equal(first, DELIVERIES, 'every distinct delivery starts exactly one execution');
			assert.equal(toSame, 0, 'a repeat to the process that saw the delivery starts nothing');
			assert.equal(total, first + toOther + toSame, 'every started answer is one execution');
			assert.ok(toOther <= Math.ceil(DELIVERIES * 0.1), `${toOther} duplicates across processes`);
		});
	});
}
