'use strict';
/**
 * The floor smoke: the oldest n8n README's Compatibility table supports (n8n 1.70.0, installed into
 * .cache/ like the other lines, on its own ports and user folder), run for real: the package loads
 * with both nodes, a recipe run is waited for and its rows come out, a stop ends a wait within
 * seconds (1.70's sleep takes no signal: the node's waits end within their 1 s slice), and a
 * trigger delivery reaches the next node once, its repeat not. `npm run test:e2e:floor`.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const demo = require('./demo');
const n8n = require('./n8n');

const LINE = 'floor';
const { version } = n8n.LINES[LINE];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const RUN_WORKFLOW = 'wsaiFloorRun0001';
const WAIT_WORKFLOW = 'wsaiFloorWait001';
const TRIGGER_WORKFLOW = 'wsaiFloorTrig001';

/** Manual Trigger → WebScrape AI (Recipe → Run, waiting) → No Operation. */
function runWorkflow(id, recipeId) {
	return {
		id,
		name: `Floor: run ${recipeId}`,
		active: false,
		settings: { executionOrder: 'v1' },
		nodes: [
			{
				id: `${id}-m`,
				name: 'Start',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
			{
				id: `${id}-r`,
				name: 'Run recipe',
				type: 'n8n-nodes-webscrape-ai.webScrapeAi',
				typeVersion: 1,
				position: [220, 0],
				credentials: demo.CREDENTIAL_REF,
				parameters: {
					resource: 'recipe',
					operation: 'run',
					recipeId,
					options: { pollInterval: 1, maxPollInterval: 2 },
				},
			},
			{
				id: `${id}-n`,
				name: 'Rows',
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [440, 0],
				parameters: {},
			},
		],
		connections: {
			Start: { main: [[{ node: 'Run recipe', type: 'main', index: 0 }]] },
			'Run recipe': { main: [[{ node: 'Rows', type: 'main', index: 0 }]] },
		},
	};
}

/** WebScrape AI Trigger (completed) → No Operation, at the path the simulator delivers to. */
function triggerWorkflow() {
	const example = demo.examples().find((workflow) => workflow.id === demo.TRIGGER_WORKFLOW_ID);
	const trigger = example.nodes.find((node) => node.type.endsWith('.webScrapeAiTrigger'));
	return {
		id: TRIGGER_WORKFLOW,
		name: 'Floor: when a run ends',
		active: false,
		settings: { executionOrder: 'v1' },
		nodes: [
			{ ...trigger, name: 'When a run ends', position: [0, 0] },
			{
				id: `${TRIGGER_WORKFLOW}-n`,
				name: 'Delivered',
				type: 'n8n-nodes-base.noOp',
				typeVersion: 1,
				position: [220, 0],
				parameters: {},
			},
		],
		connections: {
			'When a run ends': { main: [[{ node: 'Delivered', type: 'main', index: 0 }]] },
		},
	};
}

describe(`the floor release: n8n ${version}`, { timeout: 30 * 60 * 1000 }, () => {
	let sim;
	let instance;
	let session;
	let key;

	before(async () => {
		// Same sqlite3 as line 1: its built add-on is copied when line 1 is installed already.
		const line1 = path.join(n8n.CACHE, `n8n-${n8n.LINES[1].version}`);
		if (fs.existsSync(path.join(line1, '.installed'))) process.env.E2E_SQLITE3_FROM = line1;
		({ sim } = await demo.startSimulator({ runMs: 1500 }));
		sim.addRecipe('floorLong01', { pages: 1, itemsPerPage: 2, durationMs: 120_000 });
		const prepared = await n8n.prepare(LINE, {
			credentials: [demo.credential(sim.baseUrl)],
			workflows: [
				runWorkflow(RUN_WORKFLOW, 'm3Yc2tFvN8q'),
				runWorkflow(WAIT_WORKFLOW, 'floorLong01'),
				triggerWorkflow(),
			],
			activate: [TRIGGER_WORKFLOW],
		});
		demo.wireWebhooks(sim, prepared.baseUrl);
		({ instance, session, key } = await n8n.startSignedIn(prepared));
		await demo.waitForTrigger(instance.baseUrl);
	});

	after(async () => {
		await instance?.stop();
		await sim?.stop();
	});

	test('n8n loads the package: both nodes, no load error in its log', async () => {
		const types = await (
			await fetch(`${instance.baseUrl}/types/nodes.json`, { headers: { cookie: session.cookie } })
		).json();
		const names = types.map((type) => type.name);
		for (const name of ['webScrapeAi', 'webScrapeAiTrigger'])
			assert.ok(names.includes(`n8n-nodes-webscrape-ai.${name}`), `${name} missing`);
		assert.doesNotMatch(instance.output(), /webscrape-ai[^\n]*(error|failed)/i);
	});

	test('a recipe run is waited for: its 12 rows reach the next node, one run started', async () => {
		const started = Date.now();
		const execution = await n8n.executeWorkflow({ instance, session, key }, RUN_WORKFLOW, 120_000);
		assert.equal(execution.status, 'success', JSON.stringify(execution.data.resultData.error));
		const rows = execution.data.resultData.runData.Rows[0].data.main[0];
		assert.equal(rows.length, 12);
		assert.deepEqual(Object.keys(rows[0].json).sort(), ['name', 'price', 'url']);
		const dispatches = sim.requests('dispatch').filter((entry) => entry.at >= started);
		assert.equal(dispatches.length, 1);
		process.stderr.write(
			`FLOOR n8n ${version}: a 1.5 s run waited for, ${rows.length} rows, ${dispatches.length} dispatch, ${Date.now() - started} ms\n`,
		);
	});

	test('a stop ends the wait of a 2-minute run within seconds: no poll after it, execution canceled', async () => {
		const executionId = await n8n.runOnServer(session, LINE, WAIT_WORKFLOW);
		await demo.until('the node polling its run', async () =>
			sim.requests('run').some((entry) => entry.path.includes('/runs/')),
		);
		await sleep(1500);
		const stoppedAt = Date.now();
		const stop = await session.rest('POST', `/executions/${executionId}/stop`);
		assert.equal(stop.status, 200, JSON.stringify(stop.body));
		const ended = await n8n.executionOutcome(instance, key, executionId, 30_000);
		const endedMs = Date.now() - stoppedAt;
		assert.ok(!ended.timedOut && !ended.crashed, JSON.stringify(ended));
		assert.notEqual(ended.status, 'success');
		await sleep(3000);
		const late = sim.requests('run').filter((entry) => entry.at > stoppedAt + 1500);
		assert.deepEqual(
			late.map((entry) => `${entry.method} ${entry.path} +${entry.at - stoppedAt} ms`),
			[],
			'polls after the stop',
		);
		process.stderr.write(
			`FLOOR n8n ${version}: stop during a wait: execution ${ended.status} ${endedMs} ms after the stop, ${late.length} polls after it\n`,
		);
	});

	test('a delivery reaches the next node once; its repeat is answered "started": false and emits nothing', async () => {
		const run = sim.seedCompletedRun('m3Yc2tFvN8q');
		const deliver = async () => {
			const response = await fetch(demo.triggerUrl(instance.baseUrl), {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: demo.WEBHOOK_SECRET },
				body: JSON.stringify(sim.webhookPayload(run)),
			});
			return { status: response.status, body: await response.json() };
		};
		const executions = async () =>
			(
				await n8n.publicApi(
					instance,
					key,
					'GET',
					`/executions?workflowId=${TRIGGER_WORKFLOW}&includeData=true&limit=100`,
				)
			).body.data;
		const emitted = (execution) =>
			(execution.data?.resultData?.runData?.Delivered?.[0]?.data?.main?.[0] ?? []).filter(
				(item) => item.json.id === run.id,
			).length;
		const first = await deliver();
		assert.deepEqual(first, { status: 200, body: { received: true, started: true } });
		await demo.until('the delivery emitted', async () =>
			(await executions()).some((execution) => emitted(execution) > 0),
		);
		const repeat = await deliver();
		assert.deepEqual(repeat, { status: 200, body: { received: true, started: false } });
		await sleep(2000);
		const total = (await executions()).reduce((sum, execution) => sum + emitted(execution), 0);
		assert.equal(total, 1, `run ${run.id} emitted ${total} times`);
		process.stderr.write(
			`FLOOR n8n ${version}: a delivery of run ${run.id} answered ${JSON.stringify(first.body)}, its repeat ${JSON.stringify(repeat.body)}; emitted ${total} time(s)\n`,
		);
	});
});
