'use strict';
/**
 * `npm run test:e2e:queue`: the package under n8n's distributed engine, per release line
 * (E2E_LINES, default "1,2"): Postgres, Redis, one main, two workers, two webhook processes.
 * - The action node runs on a worker in a webhook-started production execution.
 * - The trigger receives deliveries spread over both webhook processes; every distinct delivery
 *   starts one execution, and repeats (to the other process, then to the same one) are counted.
 * The duplicate counts are printed (DUPLICATES line) for the README's queue-mode section, and with
 * E2E_QUEUE_COST=1 what a delivery costs against the same workflow built by hand (COST lines).
 */
const assert = require('node:assert/strict');
const http = require('node:http');
const { after, before, describe, test } = require('node:test');

const demo = require('./demo');
const n8n = require('./n8n');
const queue = require('./queue');

const LINES_TO_TEST = (process.env.E2E_LINES ?? '1,2').split(',').map(Number);
/**
 * E2E_QUEUE_COST=1: the stall test also measures WAL, drain time and CPU per delivery against the
 * same workflow built by hand (COST lines, docs/queue-mode.md): five more bursts, measurements only.
 */
const COST = process.env.E2E_QUEUE_COST === '1';
const DELIVERIES = Number(process.env.QUEUE_DELIVERIES ?? 40);
const AT_ONCE = 10;
/** The stall test's burst: this many distinct deliveries, BURST_AT_ONCE at a time. */
const BURST = Number(process.env.QUEUE_BURST ?? 120);
const BURST_AT_ONCE = 20;
/**
 * Pages in the large batch: 2.5 times the 1,000 claims a node's row keeps (CLAIM_ENTRIES in
 * exactlyOnce/nodeRow.ts), so the re-run can only hold by the folded watermarks, not by claims.
 * (It was 10,500 when the row kept 10,000 claims: the same property at four times the CPU.)
 */
const BATCH = Number(process.env.QUEUE_BATCH ?? 2_500);
/** Max Credits of the batch, below what it needs: its error output takes the items past it. */
const BATCH_BUDGET = BATCH - 100;
/** Rounds of DELIVERIES distinct deliveries and their repeats to the other webhook process. */
const ROUNDS = Number(process.env.QUEUE_ROUNDS ?? 1);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const { until } = demo;

/** A Webhook node (POST) named "Webhook", at the start of a test workflow. */
function webhookNode({ path, responseMode, responseData, id, webhookId, authentication }) {
	return {
		parameters: {
			httpMethod: 'POST',
			path,
			...(authentication ? { authentication } : {}),
			responseMode,
			...(responseData ? { responseData } : {}),
			options: {},
		},
		id,
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId,
	};
}

/** Webhook → Split Out → Recipe → Run (output run) → Run → Get (rows) → Page → Scrape each row. */
const ACTION_WORKFLOW = {
	id: 'wsaiQueueAction1',
	name: 'queue mode: action node on a worker',
	active: false,
	nodes: [
		webhookNode({
			path: 'wsai-queue-run',
			responseMode: 'lastNode',
			responseData: 'allEntries',
			id: 'd0000000-0000-4000-8000-000000000001',
			webhookId: '7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f',
		}),
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
			credentials: demo.CREDENTIAL_REF,
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
			credentials: demo.CREDENTIAL_REF,
		},
		{
			parameters: { resource: 'page', operation: 'scrape', url: '={{ $json.url }}', options: {} },
			id: 'd0000000-0000-4000-8000-000000000005',
			name: 'Scrape each row',
			type: 'n8n-nodes-webscrape-ai.webScrapeAi',
			typeVersion: 1,
			position: [800, 0],
			credentials: demo.CREDENTIAL_REF,
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

/** Manual Trigger → a recipe run that takes two minutes, polled every 0.5 s. */
const SLOW_WORKFLOW = {
	id: 'wsaiQueueSlow001',
	name: 'queue mode: a long run, stopped from the editor',
	active: false,
	nodes: [
		{
			parameters: {},
			id: 'e0000000-0000-4000-8000-000000000001',
			name: 'When clicking Execute',
			type: 'n8n-nodes-base.manualTrigger',
			typeVersion: 1,
			position: [0, 0],
		},
		{
			parameters: {
				resource: 'recipe',
				operation: 'run',
				recipeId: 'queueSlow001',
				options: { pollInterval: 0.5, maxPollInterval: 0.5 },
			},
			id: 'e0000000-0000-4000-8000-000000000002',
			name: 'Run a long recipe',
			type: 'n8n-nodes-webscrape-ai.webScrapeAi',
			typeVersion: 1,
			position: [200, 0],
			credentials: demo.CREDENTIAL_REF,
		},
	],
	connections: {
		'When clicking Execute': { main: [[{ node: 'Run a long recipe', type: 'main', index: 0 }]] },
	},
	settings: { executionOrder: 'v1' },
};

/** Webhook (answers at once) → Recipe → Run waiting on a run that takes 150 s. */
const LONG_WAIT_WORKFLOW = {
	id: 'wsaiQueueLong001',
	name: 'queue mode: a waiting run whose worker dies',
	active: false,
	nodes: [
		webhookNode({
			path: 'wsai-queue-long',
			responseMode: 'onReceived',
			id: 'f0000000-0000-4000-8000-000000000001',
			webhookId: '8d2e3f4a-5b6c-4d7e-8f9a-1b2c3d4e5f60',
		}),
		{
			parameters: {
				resource: 'recipe',
				operation: 'run',
				recipeId: 'queueLong001',
				options: { pollInterval: 1, maxPollInterval: 1 },
			},
			id: 'f0000000-0000-4000-8000-000000000002',
			name: 'Run recipe',
			type: 'n8n-nodes-webscrape-ai.webScrapeAi',
			typeVersion: 1,
			position: [200, 0],
			credentials: demo.CREDENTIAL_REF,
		},
	],
	connections: { Webhook: { main: [[{ node: 'Run recipe', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
};

/** Webhook (answers at once) → Split Out → Page → Scrape of every URL: one large batch. */
const BATCH_WORKFLOW = {
	id: 'wsaiQueueBatch01',
	name: 'queue mode: a batch larger than the old claim window',
	active: false,
	nodes: [
		webhookNode({
			path: 'wsai-queue-batch',
			responseMode: 'onReceived',
			id: 'b1000000-0000-4000-8000-000000000001',
			webhookId: 'b1000000-0000-4000-8000-0000000000cc',
		}),
		{
			parameters: { fieldToSplitOut: 'body.pages', options: {} },
			id: 'b1000000-0000-4000-8000-000000000002',
			name: 'One item per page',
			type: 'n8n-nodes-base.splitOut',
			typeVersion: 1,
			position: [200, 0],
		},
		{
			// A budget just below the batch (with the error output: without it a batch that cannot
			// fit is refused before sending): a re-run (1.x) must not spend past it either.
			parameters: {
				resource: 'page',
				operation: 'scrape',
				url: '={{ $json.url }}',
				options: { maxCredits: BATCH_BUDGET },
			},
			onError: 'continueErrorOutput',
			id: 'b1000000-0000-4000-8000-000000000003',
			name: 'Scrape every page',
			type: 'n8n-nodes-webscrape-ai.webScrapeAi',
			typeVersion: 1,
			position: [400, 0],
			credentials: demo.CREDENTIAL_REF,
		},
	],
	connections: {
		Webhook: { main: [[{ node: 'One item per page', type: 'main', index: 0 }]] },
		'One item per page': { main: [[{ node: 'Scrape every page', type: 'main', index: 0 }]] },
	},
	settings: { executionOrder: 'v1' },
};

/**
 * The stall test's two workflows, both ending in an HTTP POST of the run's ID to a sink the test
 * runs (what "reaches the next node" means to a user: a side effect, counted where it lands).
 * Ours: the trigger → POST. By hand, what a user builds without this package: Webhook → HTTP
 * Request (GET the run) → POST.
 */
const BY_HAND_PATH = 'wsai-by-hand-run-ended';
const BY_HAND_SECURE_PATH = 'wsai-by-hand-secure-run-ended';
const SINK_TRIGGER_WEBHOOK = 'a2000000-0000-4000-8000-0000000000bb';
const postTo = (sinkUrl, flow, idExpression, id) => ({
	parameters: {
		method: 'POST',
		url: sinkUrl,
		sendBody: true,
		specifyBody: 'json',
		jsonBody: `={{ JSON.stringify({ flow: '${flow}', run: ${idExpression} }) }}`,
		options: {},
	},
	id,
	name: 'Tell the sink',
	type: 'n8n-nodes-base.httpRequest',
	typeVersion: 4.2,
	position: [400, 0],
});
const sinkTriggerWorkflow = (sinkUrl) => ({
	id: 'wsaiQueueSinkTrg',
	name: 'queue mode: the trigger, into a sink',
	active: false,
	nodes: [
		{
			parameters: {
				events: ['completed', 'failed'],
				fetchRunDetails: true,
				output: 'run',
				options: {},
			},
			id: 'a2000000-0000-4000-8000-000000000001',
			name: 'When a run ends',
			type: 'n8n-nodes-webscrape-ai.webScrapeAiTrigger',
			typeVersion: 1,
			position: [0, 0],
			webhookId: SINK_TRIGGER_WEBHOOK,
			credentials: demo.CREDENTIAL_REF,
		},
		postTo(sinkUrl, 'ours', '$json.id', 'a2000000-0000-4000-8000-000000000002'),
	],
	connections: {
		'When a run ends': { main: [[{ node: 'Tell the sink', type: 'main', index: 0 }]] },
	},
	settings: { executionOrder: 'v1' },
});
/** Header Auth credentials for the by-hand workflow that is as secure as the trigger. */
const SENDER_SECRET_CREDENTIAL = {
	id: 'a1100000000000aa',
	name: 'webscrape.ai sender secret',
	type: 'httpHeaderAuth',
	data: { name: 'Authorization', value: demo.WEBHOOK_SECRET },
};
const API_KEY_CREDENTIAL = {
	id: 'a1100000000000bb',
	name: 'webscrape.ai API key',
	type: 'httpHeaderAuth',
	data: { name: 'x-api-key', value: demo.TEST_KEY },
};
const credentialRef = (credential) => ({
	httpHeaderAuth: { id: credential.id, name: credential.name },
});

/**
 * The trigger built by hand: Webhook → HTTP Request (GET the run) → HTTP Request (the sink). Plain
 * (`secure` false): the API key pasted into a header, any sender accepted. Secure: what the trigger
 * does, with n8n's own means: the Webhook node checks the sender's header (Header Auth), the GET
 * takes the key from a Header Auth credential.
 */
const byHandWorkflow = (simBaseUrl, sinkUrl, secure = false) => ({
	id: secure ? 'wsaiQueueByHand2' : 'wsaiQueueByHand1',
	name: `queue mode: the trigger built by hand${secure ? ', with credentials' : ''}`,
	active: false,
	nodes: [
		{
			...webhookNode({
				path: secure ? BY_HAND_SECURE_PATH : BY_HAND_PATH,
				responseMode: 'onReceived',
				id: 'a1000000-0000-4000-8000-000000000001',
				webhookId: `a1000000-0000-4000-8000-0000000000${secure ? 'ab' : 'aa'}`,
				...(secure ? { authentication: 'headerAuth' } : {}),
			}),
			...(secure ? { credentials: credentialRef(SENDER_SECRET_CREDENTIAL) } : {}),
		},
		{
			parameters: {
				url: `=${simBaseUrl}/smartbrowse/runs/{{ $json.body.run_id }}`,
				...(secure
					? { authentication: 'genericCredentialType', genericAuthType: 'httpHeaderAuth' }
					: {
							sendHeaders: true,
							headerParameters: { parameters: [{ name: 'x-api-key', value: demo.TEST_KEY }] },
						}),
				options: {},
			},
			id: 'a1000000-0000-4000-8000-000000000002',
			name: 'Get the run',
			type: 'n8n-nodes-base.httpRequest',
			typeVersion: 4.2,
			position: [200, 0],
			...(secure ? { credentials: credentialRef(API_KEY_CREDENTIAL) } : {}),
		},
		postTo(
			sinkUrl,
			secure ? 'by hand, secure' : 'by hand',
			'$json.data.id',
			'a1000000-0000-4000-8000-000000000003',
		),
	],
	connections: {
		Webhook: { main: [[{ node: 'Get the run', type: 'main', index: 0 }]] },
		'Get the run': { main: [[{ node: 'Tell the sink', type: 'main', index: 0 }]] },
	},
	settings: { executionOrder: 'v1' },
});

/** Counts what the workflows POST, per flow and run. */
async function startSink() {
	const received = [];
	const server = http.createServer((request, response) => {
		const chunks = [];
		request.on('data', (chunk) => chunks.push(chunk));
		request.on('end', () => {
			try {
				received.push({ ...JSON.parse(Buffer.concat(chunks).toString('utf8')), at: Date.now() });
			} catch {
				received.push({ malformed: true, at: Date.now() });
			}
			response.writeHead(200, { 'content-type': 'application/json' });
			response.end('{"ok":true}');
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${server.address().port}/sink`,
		received,
		stop: async () => await new Promise((resolve) => server.close(resolve)),
	};
}

for (const line of LINES_TO_TEST) {
	describe(`queue mode, n8n ${n8n.LINES[line].version}`, { timeout: 40 * 60 * 1000 }, () => {
		let sim;
		let sink;
		let topology;
		let session;
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

		/** Executions of a workflow in n8n's database: all, not yet stopped, failed or crashed. */
		const executionCounts = (workflowId) =>
			topology
				.query(
					`SELECT count(*), count(*) FILTER (WHERE "stoppedAt" IS NULL), count(*) FILTER (WHERE status IN ('error', 'crashed')) FROM execution_entity WHERE "workflowId" = '${workflowId}'`,
				)
				.split('\t')
				.map(Number);
		/**
		 * The one wait for a workflow's executions: until it has at least `atLeast` and every one has
		 * stopped (none added for 3 s), or, when some never do, until nothing has changed for 20 s:
		 * after a database stall n8n itself can leave an execution "new" or "running" for good (its
		 * own status write failed), which the tests report rather than wait for.
		 */
		const settled = async (workflowId, atLeast = 0) => {
			let last = '';
			let stableSince = Date.now();
			return await until(
				`${workflowId}'s executions to finish`,
				async () => {
					const [total, open, failed] = executionCounts(workflowId);
					if (`${total}/${open}` !== last) {
						last = `${total}/${open}`;
						stableSince = Date.now();
					}
					const quiet = Date.now() - stableSince;
					if (total < atLeast) return false;
					return quiet > (open === 0 ? 3000 : 20000) ? { total, open, failed } : false;
				},
				300000,
			);
		};
		/** The one wait for a single execution: until n8n's public API reports it ended. */
		const ended = async (executionId, timeoutMs, includeData = false) => {
			const outcome = await n8n.executionOutcome(
				topology.main,
				key,
				executionId,
				timeoutMs,
				includeData,
			);
			if (!outcome.execution)
				throw new Error(
					`execution ${executionId} did not end: ${outcome.crashed ? 'main exited' : `not in ${timeoutMs} ms`}`,
				);
			return outcome.execution;
		};

		/** Starts a manual run from main as the editor does; main offloads it to a worker. */
		const runManually = (workflowId, triggerName) =>
			n8n.runOnServer(session, line, workflowId, triggerName);
		const workerNames = () =>
			Object.keys(topology.processes).filter((name) => name.startsWith('worker'));
		const workerRunning = (executionId) =>
			workerNames().filter((name) =>
				new RegExp(`execution[^\\n]{0,40}\\b${executionId}\\b`, 'i').test(topology.output(name)),
			);
		const ranOnAWorker = (executionId) => workerRunning(executionId).length === 1;
		/** The workers that began running the execution's job (a re-run begins it again). */
		const startedOn = (executionId) =>
			workerNames().filter((name) =>
				new RegExp(`Worker started execution ${executionId} \\(job`).test(topology.output(name)),
			);
		let workersStarted = 2;
		/**
		 * After a worker died: the end of `executionId` (with its data) and when it was seen, with a
		 * worker started in place of the dead one, as an orchestrator restarting the pod would. A
		 * worker starting on the shared user folder reads the event log the dead one left and marks its
		 * unfinished executions crashed, so 1.x would not run the job again: on 1.x the replacement
		 * starts once the execution ended (the other worker finds the job stalled when its lock lapses
		 * and runs it again), on 2.x at once (2.x never runs a stalled job again; a crash ends it sooner).
		 */
		const endWithReplacement = async (executionId, timeoutMs) => {
			const replace = () => topology.spawnWorker(`worker${++workersStarted}`);
			if (line !== 1) await replace();
			const end = await ended(executionId, timeoutMs, true);
			const endedAt = Date.now();
			if (line === 1) await replace();
			return { end, endedAt };
		};

		before(async () => {
			sink = await startSink();
			({ sim } = await demo.startSimulator({ runMs: 1500 }));
			sim.addRecipe('queueRecipe2', { pages: 1, itemsPerPage: 3, durationMs: 1500 });
			sim.addRecipe('queueSlow001', { pages: 1, itemsPerPage: 1, durationMs: 120000 });
			sim.addRecipe('queueLong001', { pages: 1, itemsPerPage: 1, durationMs: 150000 });
			topology = await queue.startTopology(line, {
				credentials: [demo.credential(sim.baseUrl), SENDER_SECRET_CREDENTIAL, API_KEY_CREDENTIAL],
				workflows: [
					...demo.examples(),
					ACTION_WORKFLOW,
					SLOW_WORKFLOW,
					LONG_WAIT_WORKFLOW,
					BATCH_WORKFLOW,
					byHandWorkflow(sim.baseUrl, sink.url),
					byHandWorkflow(sim.baseUrl, sink.url, true),
					sinkTriggerWorkflow(sink.url),
				],
				activate: [
					demo.TRIGGER_WORKFLOW_ID,
					ACTION_WORKFLOW.id,
					LONG_WAIT_WORKFLOW.id,
					BATCH_WORKFLOW.id,
					'wsaiQueueByHand1',
					'wsaiQueueByHand2',
					'wsaiQueueSinkTrg',
				],
			});
			session = await n8n.session(topology.main);
			key = await n8n.apiKey(session);
			// Both webhook processes serve the trigger once they have read main's activation.
			for (const base of topology.webhookBaseUrls) await demo.waitForTrigger(base);
		});

		after(async () => {
			await sink?.stop();
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
			assert.ok(ranOnAWorker(id), `execution ${id} not found in a worker's log`);
		});

		test('a manual run offloaded to a worker returns the rows (Recipe → Run with the example workflow)', async () => {
			sim.clearLog();
			const executionId = await runManually('wsaiExRunRecipe1', "When clicking 'Execute workflow'");
			const execution = await until(
				'the offloaded manual run to finish',
				async () => {
					const result = await n8n.publicApi(
						topology.main,
						key,
						'GET',
						`/executions/${executionId}?includeData=true`,
					);
					return result.status === 200 && result.body.finished ? result.body : false;
				},
				60000,
			);
			const rows = execution.data.resultData.runData['Use the rows'][0].data.main[0];
			assert.equal(rows.length, 12);
			assert.deepEqual(rows[0].json, { product: 'Product 1-1', price: 10, cheap: true });
			assert.equal(sim.requests('dispatch').length, 1);
			assert.ok(ranOnAWorker(executionId), `execution ${executionId} not found in a worker's log`);
		});

		test('stopping a manual run that main offloaded to a worker stops the node waiting there: no poll afterwards', async () => {
			sim.clearLog();
			const executionId = await runManually(SLOW_WORKFLOW.id, 'When clicking Execute');
			// Wait until the run is dispatched and being polled on the worker.
			await until('polls of the long run', async () => sim.requests('run').length >= 3, 60000);
			assert.equal(sim.requests('dispatch').length, 1);
			const stop = await session.rest('POST', `/executions/${executionId}/stop`);
			assert.equal(stop.status, 200, JSON.stringify(stop.body));
			const stoppedAt = Date.now();
			await sleep(3000);
			const late = sim.log.filter((entry) => entry.at > stoppedAt + 500);
			assert.deepEqual(
				late.map((entry) => `${entry.method} ${entry.path}`),
				[],
				'requests after the stop',
			);
			assert.ok(ranOnAWorker(executionId), `execution ${executionId} not found in a worker's log`);
		});

		for (const signal of ['SIGKILL', 'SIGTERM']) {
			test(`the worker running a waiting Recipe → Run gets ${signal}: one run started, and the execution says what happened`, async () => {
				sim.clearLog();
				const response = await fetch(`${topology.webhookBaseUrls[0]}/webhook/wsai-queue-long`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: '{}',
				});
				assert.equal(response.status, 200, await response.text());
				// Dispatched and being polled on a worker.
				await until('polls of the long run', async () => sim.requests('run').length >= 2, 60000);
				const executions = await executionsOf(LONG_WAIT_WORKFLOW.id);
				const executionId = String(
					executions.map((execution) => Number(execution.id)).sort((a, b) => b - a)[0],
				);
				const [worker] = await until(
					`the worker running execution ${executionId}`,
					async () => (startedOn(executionId).length === 1 ? startedOn(executionId) : false),
					30000,
				);
				const signalledAt = Date.now();
				topology.processes[worker].child.kill(signal);
				const { end, endedAt } = await endWithReplacement(executionId, 240000);
				const endedAfter = Math.round((endedAt - signalledAt) / 1000);
				const dispatches = sim
					.requests('dispatch')
					.filter((entry) => entry.id === 'queueLong001' && entry.status === 202);
				const message = end.data?.resultData?.error?.message ?? '(no error)';
				const reruns = startedOn(executionId).filter((name) => name !== worker);
				console.log(
					`WORKER-DEATH n8n ${n8n.LINES[line].version} ${signal}: runs started ${dispatches.length}; execution ${end.status} ${endedAfter} s after the signal (${reruns.length ? `run again by ${reruns.join(', ')}` : 'not run again'}): ${message}`,
				);
				assert.equal(dispatches.length, 1, 'exactly one run started for the item');
				// n8n ends it as error (job failed, or re-run and failed by our node) or crashed.
				assert.ok(['error', 'crashed'].includes(end.status), end.status);
				// 1.x either runs the stalled job again from the start (our node must then not dispatch
				// again and says so) or, when n8n marked the execution crashed first, does not.
				if (reruns.length > 0)
					assert.match(
						message,
						/^The run of recipe "queueLong001" for this item was already started by an earlier attempt of this execution, so it was not started again \[item 0\]$/,
					);
			});
		}

		test(`a Page → Scrape batch of ${BATCH} URLs whose worker is killed late in the batch: no URL is scraped twice, and its Max Credits (${BATCH_BUDGET}) holds across the re-run`, async () => {
			sim.clearLog();
			// One credit per page: more than the simulator's account starts with.
			const account = sim.accounts.get(demo.TEST_KEY);
			account.credits = 10 * BATCH;
			const pages = Array.from({ length: BATCH }, (_, index) => ({
				url: `https://example.com/batch/${index}`,
			}));
			const response = await fetch(`${topology.webhookBaseUrls[0]}/webhook/wsai-queue-batch`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ pages }),
			});
			assert.equal(response.status, 200, await response.text());
			const scraped = () => sim.requests('scrape');
			const late = Math.floor(BATCH * 0.9);
			await until(`${late} pages scraped`, async () => scraped().length >= late, 600000);
			const executions = await executionsOf(BATCH_WORKFLOW.id);
			const executionId = String(
				executions.map((execution) => Number(execution.id)).sort((a, b) => b - a)[0],
			);
			const [worker] = await until(
				`the worker running execution ${executionId}`,
				async () => (startedOn(executionId).length === 1 ? startedOn(executionId) : false),
				30000,
			);
			const killedAfter = scraped().length;
			topology.processes[worker].child.kill('SIGKILL');
			const { end } = await endWithReplacement(executionId, 300000);
			const refused = end.data?.resultData?.runData?.['Scrape every page']?.[0]?.data?.main?.[1];
			const message = refused?.[0]?.json?.error ?? end.data?.resultData?.error?.message ?? '(none)';
			// Whatever n8n does next (run the job again, or mark it crashed), every URL went out once.
			await sleep(3000);
			const perUrl = new Map();
			for (const entry of scraped())
				perUrl.set(entry.body?.website_url, (perUrl.get(entry.body?.website_url) ?? 0) + 1);
			const twice = [...perUrl.values()].filter((count) => count > 1).length;
			const reruns = startedOn(executionId).filter((name) => name !== worker);
			console.log(
				`BATCH n8n ${n8n.LINES[line].version}: ${BATCH} URLs, worker killed after ${killedAfter} scrapes; execution ${end.status} (${reruns.length ? `run again by ${reruns.join(', ')}` : 'not run again'}): ${message}; ${perUrl.size} distinct URLs scraped, ${twice} more than once; the account spent ${10 * BATCH - account.credits} credits meanwhile (any earlier test's run that ended included) at Max Credits ${BATCH_BUDGET}`,
			);
			assert.ok(10 * BATCH - account.credits <= BATCH_BUDGET, 'Max Credits exceeded');
			// 1.x moves a stalled job back to the queue once (maxStalledCount 1) and the other worker
			// runs it again; 2.x fails it (maxStalledCount 0). The re-run is what this test is for.
			if (line === 1) assert.equal(reruns.length, 1, 'the job was run again by the other worker');
			if (reruns.length > 0)
				assert.match(
					message,
					new RegExp(
						`^Budget of ${BATCH_BUDGET} credits for this execution reached: an earlier attempt of this execution may have spent up to ${BATCH_BUDGET} \\(n8n ran it again\\), this one 0; this request could cost up to 1, so it was not sent \\[item 0\\]$`,
					),
				);
			assert.ok(perUrl.size >= killedAfter, `${perUrl.size} distinct URLs`);
			assert.equal(twice, 0, 'no URL scraped twice');
		});

		test(`trigger on two webhook processes, ${ROUNDS} rounds: ${DELIVERIES} distinct deliveries, each repeated to the other process (and, once, to the same one), and ${DELIVERIES} sent to both at the same moment: no repeat reaches the next node`, async () => {
			const headers = { Authorization: demo.WEBHOOK_SECRET };
			const deliverRound = async (runs, processOf) => {
				let started = 0;
				for (let offset = 0; offset < runs.length; offset += AT_ONCE) {
					const batch = runs.slice(offset, offset + AT_ONCE);
					const records = await Promise.all(
						batch.map(async (run, index) => {
							const url = `${topology.webhookBaseUrls[processOf(offset + index)]}${triggerPath}`;
							const before = sim.deliveries.length;
							await sim.deliver(run.id, { url, headers });
							return sim.deliveries.slice(before).find((record) => record.runId === run.id);
						}),
					);
					for (const record of records) {
						assert.equal(record.status, 200, record.error ?? record.responseBody);
						if (JSON.parse(record.responseBody).started) started++;
					}
				}
				return started;
			};
			const before = new Set(
				(await executionsOf(demo.TRIGGER_WORKFLOW_ID)).map((execution) => String(execution.id)),
			);
			const baseline = before.size;
			const fresh = () =>
				Array.from({ length: DELIVERIES }, () => sim.seedCompletedRun('m3Yc2tFvN8q'));

			// Spread over both processes, as a load balancer without affinity does: each round, every
			// distinct delivery and then (2 s later) its repeat to the other process.
			const rounds = [];
			let toSame = 0;
			for (let round = 0; round < ROUNDS; round++) {
				const spread = fresh();
				const first = await deliverRound(spread, (index) => index % 2);
				await sleep(2000);
				const toOther = await deliverRound(spread, (index) => (index + 1) % 2);
				if (round === 0) {
					await sleep(2000);
					toSame = await deliverRound(spread, (index) => (index + 1) % 2);
				}
				rounds.push({ runs: spread.map((run) => run.id), first, toOther });
			}

			// The same delivery to both webhook processes at the same moment: both executions run at once
			// on the two workers, and the record in n8n's database (under its lock) keeps the second out.
			const together = fresh();
			const togetherFrom = sim.deliveries.length;
			for (let offset = 0; offset < together.length; offset += AT_ONCE / 2) {
				await Promise.all(
					together.slice(offset, offset + AT_ONCE / 2).flatMap((run) =>
						[0, 1].map(
							async (process) =>
								await sim.deliver(run.id, {
									url: `${topology.webhookBaseUrls[process]}${triggerPath}`,
									headers,
								}),
						),
					),
				);
			}
			const togetherRecords = sim.deliveries.slice(togetherFrom);
			for (const record of togetherRecords)
				assert.equal(record.status, 200, record.error ?? record.responseBody);
			const togetherStarted = togetherRecords.filter(
				(record) => JSON.parse(record.responseBody).started,
			).length;

			const started =
				rounds.reduce((sum, round) => sum + round.first + round.toOther, 0) +
				toSame +
				togetherStarted;
			await settled(demo.TRIGGER_WORKFLOW_ID, baseline + started);
			const executions = await executionsOf(demo.TRIGGER_WORKFLOW_ID);
			assert.equal(executions.length - baseline, started, 'one execution per started delivery');
			// Which executions reached the node after the trigger (what a user's workflow would do).
			const reachedNext = new Map();
			for (const execution of executions.filter((one) => !before.has(String(one.id)))) {
				const detail = await n8n.publicApi(
					topology.main,
					key,
					'GET',
					`/executions/${execution.id}?includeData=true`,
				);
				const runData = detail.body.data?.resultData?.runData ?? {};
				if (!runData['Summarise the run']) continue;
				const runId = runData['When a run ends']?.[0]?.data?.main?.[0]?.[0]?.json?.id;
				reachedNext.set(runId, (reachedNext.get(runId) ?? 0) + 1);
			}
			const repeatsReaching = (runs) =>
				runs.reduce((sum, runId) => sum + Math.max(0, (reachedNext.get(runId) ?? 0) - 1), 0);
			for (const [index, round] of rounds.entries()) {
				console.log(
					`DUPLICATES n8n ${n8n.LINES[line].version} round ${index + 1}/${ROUNDS}: ${DELIVERIES} distinct deliveries spread over 2 webhook processes started ${round.first}; their repeats 2 s later to the other process started ${round.toOther} executions; repeats reaching the next node: ${repeatsReaching(round.runs)}`,
				);
			}
			const togetherRuns = together.map((run) => run.id);
			console.log(
				`DUPLICATES n8n ${n8n.LINES[line].version}: ${DELIVERIES} deliveries each sent to both webhook processes at the same moment started ${togetherStarted} executions (${togetherStarted - DELIVERIES} of them repeats); repeats reaching the next node: ${repeatsReaching(togetherRuns)}`,
			);
			const allRuns = [...rounds.flatMap((round) => round.runs), ...togetherRuns];
			const missing = allRuns.filter((runId) => !reachedNext.get(runId));
			console.log(
				`DUPLICATES n8n ${n8n.LINES[line].version}: over ${ROUNDS} rounds of ${DELIVERIES} (and the ${DELIVERIES} sent to both at once), repeats reaching the next node: ${repeatsReaching(allRuns)}; repeats to the same process started ${toSame} executions (webhook processes run none, so every repeat reaches a worker, where its execution emits nothing).`,
			);
			for (const round of rounds)
				assert.equal(
					round.first,
					DELIVERIES,
					'every distinct delivery starts exactly one execution',
				);
			assert.deepEqual(missing, [], 'every delivery reached the next node at least once');
			// The repeats' executions: the record in processed_data stops every one. It is written under a
			// lock row (the workflow scope's row, created by one process at a time); no lock row is left
			// once every execution has finished.
			const pastWebhook =
				rounds.reduce((sum, round) => sum + round.toOther, 0) +
				toSame +
				(togetherStarted - DELIVERIES);
			const rowsOf = (context) =>
				Number(
					topology.query(
						`SELECT count(*) FROM processed_data WHERE "workflowId" = '${demo.TRIGGER_WORKFLOW_ID}' AND context ${context}`,
					),
				);
			// The trigger's own record (context n:<node id>) is there; the lock row is not.
			assert.equal(rowsOf("LIKE 'n:%'"), 1, "the trigger's record in processed_data");
			const lockRowsLeft = rowsOf("= ''");
			console.log(
				`DUPLICATES n8n ${n8n.LINES[line].version}: ${pastWebhook} repeats started an execution; ${repeatsReaching(allRuns)} reached the next node; lock rows left in processed_data: ${lockRowsLeft}`,
			);
			assert.equal(
				repeatsReaching(allRuns),
				0,
				`repeats that started an execution: ${pastWebhook}`,
			);
			assert.equal(lockRowsLeft, 0);
		});

		test(`a burst of ${BURST} deliveries with Postgres frozen for 20 s in the middle, then every delivery sent again to both webhook processes: each reaches the next node exactly once (E2E_QUEUE_COST=1: also WAL per delivery and drain time against the same workflow built by hand)`, async () => {
			const headers = { Authorization: demo.WEBHOOK_SECRET };
			const version = n8n.LINES[line].version;
			const OURS = 'wsaiQueueSinkTrg';
			const BY_HAND = 'wsaiQueueByHand1';
			const ours = (process) =>
				`${topology.webhookBaseUrls[process]}/webhook/${SINK_TRIGGER_WEBHOOK}/webhook`;
			const byHand = (process) => `${topology.webhookBaseUrls[process]}/webhook/${BY_HAND_PATH}`;
			const SECURE = 'wsaiQueueByHand2';
			const byHandSecure = (process) =>
				`${topology.webhookBaseUrls[process]}/webhook/${BY_HAND_SECURE_PATH}`;
			const fresh = (count) =>
				Array.from({ length: count }, () => sim.seedCompletedRun('m3Yc2tFvN8q'));
			const post = async (run, url) => {
				const sending = sim.deliver(run.id, { url, headers });
				const record = sim.deliveries.at(-1);
				await sending;
				return record;
			};
			/**
			 * A delivery sent again while n8n answers 503 "Database is not ready!", as webscrape.ai sends
			 * again one n8n did not take: after a stall a process says so until its next database ping
			 * passes (every 2 s, 5 s allowed; seen once on a loaded machine, 1.x), before any node runs.
			 */
			const postUntilTaken = async (run, url) => {
				for (let attempt = 1; ; attempt++) {
					const record = await post(run, url);
					const notReady =
						record.status === 503 && /Database is not ready/.test(record.responseBody ?? '');
					if (!notReady || attempt === 10) return record;
					await sleep(1000);
				}
			};
			/** BURST_AT_ONCE at a time, spread over both webhook processes, as a burst from webscrape.ai. */
			const burst = async (runs, urlOf) => {
				const records = [];
				for (let offset = 0; offset < runs.length; offset += BURST_AT_ONCE) {
					const batch = runs.slice(offset, offset + BURST_AT_ONCE);
					records.push(
						...(await Promise.all(
							batch.map(async (run, index) => await post(run, urlOf((offset + index) % 2))),
						)),
					);
				}
				return records;
			};
			const sinkOf = (flow, runs) => {
				const ids = new Set(runs.map((run) => run.id));
				return sink.received.filter((entry) => entry.flow === flow && ids.has(entry.run));
			};
			/** A burst into an idle workflow: WAL per delivery, and the time until the sink had all. */
			const measure = async (workflowId, flow, urlOf) => {
				await settled(workflowId);
				const lsn = topology.wal();
				const cpuBefore = topology.cpu();
				const runs = fresh(BURST);
				const started = Date.now();
				const records = await burst(runs, urlOf);
				for (const record of records)
					assert.equal(record.status, 200, record.error ?? record.responseBody);
				await until(
					`${flow}: the sink to get ${BURST} runs`,
					() => sinkOf(flow, runs).length >= BURST,
					300000,
				);
				const drainMs = Math.max(...sinkOf(flow, runs).map((entry) => entry.at)) - started;
				await settled(workflowId);
				const cpuAfter = topology.cpu();
				/** CPU milliseconds per delivery, by kind of process. */
				const cpu = {};
				for (const [name, seconds] of Object.entries(cpuAfter)) {
					const kind = name.replace(/\d+$/, '');
					cpu[kind] = (cpu[kind] ?? 0) + ((seconds - (cpuBefore[name] ?? 0)) * 1000) / BURST;
				}
				return { walPerDelivery: topology.wal(lsn) / BURST, drainMs, cpu };
			};
			const cpuText = (cpu) =>
				Object.entries(cpu)
					.map(([kind, ms]) => `${kind} ${Math.round(ms)}`)
					.join(', ');
			const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
			/** What the workers' debug log says the trigger's step spent reading the run and recording. */
			const stepTimes = () => {
				/** Each match of `pattern` in the workers' logs, as the numbers it captured. */
				const logged = (pattern) =>
					workerNames().flatMap((name) =>
						[...topology.output(name).matchAll(pattern)].map((match) => match.slice(1).map(Number)),
					);
				const mean = (values, digits = 0) =>
					values.length
						? (values.reduce((sum, value) => sum + value, 0) / values.length).toFixed(digits)
						: '–';
				const steps = logged(/run read in (\d+) ms, recorded in (\d+) ms/g);
				const groups = logged(/When a run ends: recording (\d+) callers' values in one write/g);
				return `run read ${mean(steps.map(([read]) => read))} ms, recorded ${mean(steps.map(([, recorded]) => recorded))} ms on average over ${steps.length}, ${mean(
					groups.map(([size]) => size),
					1,
				)} deliveries per write of the row`;
			};
			const s1 = (ms) => `${(ms / 1000).toFixed(1)} s`;

			// The COST bursts (E2E_QUEUE_COST=1) measure, they assert nothing: CI runs the stall alone.
			const byHandFirst = COST ? await measure(BY_HAND, 'by hand', byHand) : undefined;
			const secureFirst = COST ? await measure(SECURE, 'by hand, secure', byHandSecure) : undefined;
			const oursFirst = COST ? await measure(OURS, 'ours', ours) : undefined;

			// The burst, with Postgres frozen 20 s a moment after it began.
			const [executionsBefore, failedBefore] = executionCounts(OURS);
			const stalledRuns = fresh(BURST);
			const sending = burst(stalledRuns, ours);
			await sleep(1500);
			const frozen = await topology.stallDatabase(20000);
			const firstSend = await sending;
			await settled(OURS);
			const reachedBeforeResend = sinkOf('ours', stalledRuns).length;
			// Every delivery again, to both webhook processes at the same moment.
			const resent = [];
			for (let offset = 0; offset < stalledRuns.length; offset += BURST_AT_ONCE / 2) {
				const batch = stalledRuns.slice(offset, offset + BURST_AT_ONCE / 2);
				resent.push(
					...(await Promise.all(
						batch.flatMap((run) =>
							[0, 1].map(async (process) => await postUntilTaken(run, ours(process))),
						),
					)),
				);
			}
			for (const record of resent)
				assert.equal(record.status, 200, record.error ?? record.responseBody);
			const { total, open, failed } = await settled(OURS);
			const reached = new Map();
			for (const entry of sinkOf('ours', stalledRuns))
				reached.set(entry.run, (reached.get(entry.run) ?? 0) + 1);
			const lostRuns = stalledRuns.filter((run) => !reached.get(run.id)).map((run) => run.id);
			const duplicates = [...reached.values()].reduce((sum, count) => sum + count - 1, 0);
			const unanswered = firstSend.filter((record) => record.status !== 200).length;
			if (lostRuns.length > 0) {
				const detail = topology.query(
					`SELECT id, status, "stoppedAt" IS NULL FROM execution_entity WHERE "workflowId" = '${OURS}' AND status <> 'success' ORDER BY id`,
				);
				console.log(
					`STALL lost runs: ${lostRuns.join(', ')}; executions not successful:\n${detail}`,
				);
			}

			console.log(
				`STALL n8n ${version}: ${BURST} deliveries, Postgres (${frozen} processes) frozen 20 s 1.5 s into the burst; ${unanswered} first sends not answered 200; ${reachedBeforeResend} reached the next node before every delivery was sent again to both webhook processes; then lost ${lostRuns.length}, duplicates ${duplicates}; ${failed - failedBefore} of ${total - executionsBefore} executions in error, ${open} left unfinished by n8n`,
			);
			assert.equal(duplicates, 0, 'no delivery reaches the next node twice');
			assert.deepEqual(lostRuns, [], 'every delivery reaches the next node');
			if (!COST) return;

			// The same figures again, on the trigger's row as the burst and the stall left it (its size
			// as this pass begins is printed; it stops growing at 27 KB, past 500 deliveries).
			const rowAtStart = Number(
				topology.query(
					`SELECT coalesce(max(length(value::text)), 0) FROM processed_data WHERE "workflowId" = '${OURS}' AND context LIKE 'n:%'`,
				),
			);
			const oursAtCap = await measure(OURS, 'ours', ours);
			const byHandLast = await measure(BY_HAND, 'by hand', byHand);
			const against = (figure, baseline) => `${(figure / baseline).toFixed(2)}×`;
			const byHandWal = (byHandFirst.walPerDelivery + byHandLast.walPerDelivery) / 2;
			const byHandDrain = (byHandFirst.drainMs + byHandLast.drainMs) / 2;
			// Measured once (CI's time): against its first burst only.
			const secureWal = secureFirst.walPerDelivery;
			const secureDrain = secureFirst.drainMs;
			const rows = topology
				.query(
					`SELECT context, length(value::text) FROM processed_data WHERE "workflowId" = '${OURS}'`,
				)
				.split('\n')
				.join('; ');
			console.log(
				`COST n8n ${version}: WAL per delivery by hand ${kb(byHandFirst.walPerDelivery)} / ${kb(byHandLast.walPerDelivery)}; ours ${kb(oursFirst.walPerDelivery)} (${against(oursFirst.walPerDelivery, byHandWal)}), again with the row at ${kb(rowAtStart)} ${kb(oursAtCap.walPerDelivery)} (${against(oursAtCap.walPerDelivery, byHandWal)}); drain ${BURST} deliveries by hand ${s1(byHandFirst.drainMs)} / ${s1(byHandLast.drainMs)}, ours ${s1(oursFirst.drainMs)} (${against(oursFirst.drainMs, byHandDrain)}), again ${s1(oursAtCap.drainMs)} (${against(oursAtCap.drainMs, byHandDrain)}); our processed_data rows (context, bytes): ${rows}; our trigger's step: ${stepTimes()}; CPU ms per delivery by hand ${cpuText(byHandFirst.cpu)}, ours ${cpuText(oursFirst.cpu)}, ours again ${cpuText(oursAtCap.cpu)}`,
			);
			console.log(
				`COST n8n ${version}, against the by-hand workflow with credentials (Webhook with Header Auth, GET with a Header Auth credential): its WAL per delivery ${kb(secureWal)}, ours ${against(oursFirst.walPerDelivery, secureWal)}, again ${against(oursAtCap.walPerDelivery, secureWal)}; its drain ${s1(secureDrain)}, ours ${against(oursFirst.drainMs, secureDrain)}, again ${against(oursAtCap.drainMs, secureDrain)}; its CPU ms per delivery ${cpuText(secureFirst.cpu)}`,
			);
		});
	});
}
