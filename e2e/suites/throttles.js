'use strict';
/**
 * The plan throttles and every kind of wait, in real n8n on each release line (registered on the
 * line's shared n8n by e2e/e2e.test.js): a batch above the plan's concurrency cap, a batch above its per-minute limit, and a stop
 * from the editor while items wait for a slot and for a per-minute turn. These waits sleep with
 * whichever abortable timer the line's own n8n-workflow offers (n8n 2.41 has no sleepWithAbort), so
 * only real n8n of each line shows that they wake and end.
 */
const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const demo = require('../demo');
const n8n = require('../n8n');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const { until } = demo;

/** One simulated webscrape.ai account (its own key and plan) and the n8n credential for it. */
function planAccount(sim, id, plan) {
	const key = `wsg_live_E2EPLAN${id.slice(-6)}`;
	const account = sim.addKey(key, { credits: 100000, ...plan });
	return {
		key,
		/** Credits the simulator (the authority) took from the account. */
		spent: () => 100000 - account.credits,
		credential: {
			id,
			name: `WebScrape AI (${id})`,
			type: 'webScrapeAiApi',
			data: { apiKey: key, baseUrl: sim.baseUrl },
		},
		log: (route) => sim.requests(route).filter((entry) => entry.account === key.slice(-6)),
	};
}

/** Manual Trigger → a list of values → one item each → our node with `parameters` (and `settings`). */
function batchWorkflow(id, values, parameters, credential, settings = {}) {
	const node = (suffix, rest) => ({ id: `${id}-${suffix}`, position: [0, 0], ...rest });
	return {
		id,
		name: `throttles: ${id}`,
		active: false,
		nodes: [
			node('1', {
				name: 'Start',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				parameters: {},
			}),
			node('2', {
				name: 'Values',
				type: 'n8n-nodes-base.set',
				typeVersion: 3.4,
				parameters: { mode: 'raw', jsonOutput: JSON.stringify({ values }), options: {} },
			}),
			node('3', {
				name: 'One item each',
				type: 'n8n-nodes-base.splitOut',
				typeVersion: 1,
				parameters: { fieldToSplitOut: 'values', options: {} },
			}),
			node('4', {
				name: 'WebScrape AI',
				type: 'n8n-nodes-webscrape-ai.webScrapeAi',
				typeVersion: 1,
				parameters,
				credentials: { webScrapeAiApi: { id: credential.id, name: credential.name } },
				...settings,
			}),
		],
		connections: {
			Start: { main: [[{ node: 'Values', type: 'main', index: 0 }]] },
			Values: { main: [[{ node: 'One item each', type: 'main', index: 0 }]] },
			'One item each': { main: [[{ node: 'WebScrape AI', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

// Each run of the 12-run batch takes 6 s: what n8n adds per wave of 3 runs (a poll to see a run end,
// the next dispatch and its record) grows on a loaded machine, 1.3–1.5 s in CI with every suite side
// by side, which took 2-second runs past 1.5 × the ideal (and 4-second ones to ×1.37); against 6 s
// it stays a fraction of the ideal (a batch that ran them one at a time would take ×3).
const RUN_MS = 6000;
const LOST_RECIPES = ['e2eLostA', 'e2eLostB', 'e2eLostC'];
const FAST_POLL = { pollInterval: 0.5, maxPollInterval: 0.5 };
const urls = (count) => Array.from({ length: count }, (_, i) => `https://example.com/page/${i}`);

/** This suite's workflows, each on its account's credential. */
const WORKFLOWS = (accounts) => [
	batchWorkflow(
		'wsaiE2eCap000001',
		Array(12).fill('throttleRun'),
		{
			resource: 'recipe',
			operation: 'run',
			recipeId: '={{ $json.values }}',
			options: FAST_POLL,
		},
		accounts.cap.credential,
	),
	batchWorkflow(
		'wsaiE2eMinute001',
		urls(14),
		{ resource: 'page', operation: 'scrape', url: '={{ $json.values }}' },
		accounts.minute.credential,
	),
	batchWorkflow(
		'wsaiE2eCancelSl1',
		Array(3).fill('throttle60s'),
		{
			resource: 'recipe',
			operation: 'run',
			recipeId: '={{ $json.values }}',
			options: FAST_POLL,
		},
		accounts.slot.credential,
	),
	batchWorkflow(
		'wsaiE2eCancelTn1',
		urls(4),
		{ resource: 'page', operation: 'scrape', url: '={{ $json.values }}' },
		accounts.turn.credential,
	),
	// Three dispatches whose answers are lost after webscrape.ai started each run (docs/exactly-once.md, A1).
	...[
		['wsaiE2eLostStop1', accounts.lostStop, {}],
		['wsaiE2eLostErrO1', accounts.lostErrorOutput, { onError: 'continueErrorOutput' }],
	].map(([id, account, settings]) =>
		batchWorkflow(
			id,
			LOST_RECIPES,
			{
				resource: 'recipe',
				operation: 'run',
				recipeId: '={{ $json.values }}',
				waitForCompletion: false,
				options: { concurrency: 3, checkQuota: false },
			},
			account.credential,
			settings,
		),
	),
	batchWorkflow(
		'wsaiE2eBudget050',
		urls(200),
		{
			resource: 'page',
			operation: 'extract',
			url: '={{ $json.values }}',
			prompt: 'The page title',
			options: { maxCredits: 50 },
		},
		accounts.budget.credential,
		{ onError: 'continueErrorOutput' },
	),
];

/**
 * Before the shared n8n starts: the simulated accounts (one per plan) on the shared simulator, and
 * this suite's credentials and workflows.
 */
function setup(shared) {
	const { sim } = shared;
	sim.addRecipe('throttleRun', { pages: 1, itemsPerPage: 2, durationMs: RUN_MS });
	sim.addRecipe('throttle60s', { pages: 1, itemsPerPage: 1, durationMs: 60000 });
	const accounts = {
		cap: planAccount(sim, 'wsaiPlanCap00003', { maxConcurrent: 3 }),
		minute: planAccount(sim, 'wsaiPlanMin00010', { perMinute: 10 }),
		slot: planAccount(sim, 'wsaiPlanSlot0001', { maxConcurrent: 1 }),
		turn: planAccount(sim, 'wsaiPlanTurn0002', { perMinute: 2 }),
		budget: planAccount(sim, 'wsaiPlanBudget50', {}),
		lostStop: planAccount(sim, 'wsaiLostAnswers1', {}),
		lostErrorOutput: planAccount(sim, 'wsaiLostAnswers2', {}),
	};
	for (const id of LOST_RECIPES) sim.addRecipe(id, { pages: 1, itemsPerPage: 1, durationMs: 500 });
	// Every dispatch of these two accounts is processed (the run starts), then its connection drops.
	const lost = new Set([accounts.lostStop, accounts.lostErrorOutput].map((a) => a.key.slice(-6)));
	sim.faultWith((entry) =>
		entry.route === 'dispatch' && lost.has(entry.account) ? { type: 'reset-after' } : undefined,
	);
	shared.accounts = accounts;
	return {
		credentials: Object.values(accounts).map((account) => account.credential),
		workflows: WORKFLOWS(accounts),
	};
}

function register(line, shared) {
	describe(
		`throttles and waits, n8n ${n8n.LINES[line].version}`,
		{ timeout: 30 * 60 * 1000 },
		() => {
			let instance;
			let session;
			let key;
			let accounts;
			let minuteBatch;

			/** Starts a manual run on the server, as the editor's "Execute workflow" does. */
			const runOnServer = (workflowId) => n8n.runOnServer(session, line, workflowId);
			const nodeRun = (result) => result.data.resultData.runData['WebScrape AI'][0];

			before(async () => {
				({ instance, session, key, accounts } = shared);
				// The per-minute batch takes one window (60 s): it runs while the other cases do.
				const startedAt = Date.now();
				minuteBatch = n8n
					.executeWorkflow(shared, 'wsaiE2eMinute001')
					.then((result) => ({ result, wallMs: Date.now() - startedAt }));
				minuteBatch.catch(() => undefined);
			});

			after(async () => {
				await minuteBatch?.catch(() => undefined);
			});

			test('12 runs on a plan that allows 3 in progress: 24 rows, 12 runs, no error, near the ideal time', async () => {
				const result = await n8n.executeWorkflow(shared, 'wsaiE2eCap000001');
				const run = nodeRun(result);
				assert.equal(result.data.resultData.error, undefined);
				const rows = run.data.main[0];
				assert.equal(rows.length, 24);
				assert.deepEqual(
					rows.map((row) => row.pairedItem.item),
					Array.from({ length: 24 }, (_, i) => Math.floor(i / 2)),
				);
				const dispatches = accounts.cap.log('dispatch');
				const accepted = dispatches.filter((entry) => entry.status === 202);
				assert.equal(accepted.length, 12, 'one accepted dispatch per item');
				assert.equal(new Set(accepted.map((entry) => entry.runId)).size, 12);
				const ideal = Math.ceil(12 / 3) * RUN_MS;
				console.log(
					`THROTTLE n8n ${n8n.LINES[line].version}: 12 runs on a 3-run plan: node ${run.executionTime} ms (ideal ${ideal} ms, ×${(run.executionTime / ideal).toFixed(2)}), ${dispatches.length - accepted.length} refused dispatches`,
				);
				assert.ok(run.executionTime <= 1.5 * ideal, `${run.executionTime} ms > 1.5 × ${ideal} ms`);
			});

			test('200 Extract items with Max Credits 50: 10 sent, 50 credits taken by webscrape.ai, 190 items say why', async () => {
				const result = await n8n.executeWorkflow(shared, 'wsaiE2eBudget050');
				const [rows, refused] = nodeRun(result).data.main;
				const sent = accounts.budget.log('extract').filter((entry) => entry.status === 200);
				assert.equal(sent.length, 10);
				assert.equal(accounts.budget.spent(), 50);
				assert.equal(rows.length, 10);
				assert.equal(refused.length, 190);
				for (const item of refused)
					assert.match(
						item.json.error,
						/^Budget of 50 credits for this execution reached: spent \d+(, and \d+ set aside for requests in progress)?; this request could cost up to 5, so it was not sent \[item \d+\]$/,
					);
				console.log(
					`BUDGET n8n ${n8n.LINES[line].version}: 200 Extract items at Max Credits 50: ${sent.length} sent, ${accounts.budget.spent()} credits taken by the simulator, ${refused.length} refused; hint: ${JSON.stringify(nodeRun(result).hints?.map((hint) => hint.message))}`,
				);
			});

			/**
			 * Starts `workflowId` on the server, waits until `waiting()` says items are waiting, stops the
			 * execution from the editor's endpoint and checks that nothing reached the API afterwards.
			 */
			const stopWhileWaiting = async (account, workflowId, what, waiting) => {
				const executionId = await runOnServer(workflowId);
				await until(what, waiting, 30000);
				await sleep(1000);
				const stop = await session.rest('POST', `/executions/${executionId}/stop`);
				assert.equal(stop.status, 200, JSON.stringify(stop.body));
				// From n8n's answer: it has aborted the execution by then. Under CI's load n8n took
				// most of a second to answer, and a poll the node sent meanwhile reached the API.
				const stoppedAt = Date.now();
				await sleep(3000);
				const late = account.log().filter((entry) => entry.at > stoppedAt + 500);
				assert.deepEqual(
					late.map((entry) => `${entry.method} ${entry.path} +${entry.at - stoppedAt} ms`),
					[],
					'requests after the stop',
				);
				const execution = await n8n.publicApi(instance, key, 'GET', `/executions/${executionId}`);
				assert.notEqual(execution.body.status, 'running');
				return { late, status: execution.body.status };
			};

			test('a stop while items wait for a plan slot: canceled, no request to the API afterwards', async () => {
				const account = accounts.slot;
				// Item 0's run is in progress and polled; items 1 and 2 were refused and wait for its slot.
				const { late, status } = await stopWhileWaiting(
					account,
					'wsaiE2eCancelSl1',
					'two refused dispatches and polls of the first run',
					() =>
						account.log('dispatch').filter((entry) => entry.status === 429).length >= 2 &&
						account.log('run').length >= 2,
				);
				assert.equal(account.log('dispatch').filter((entry) => entry.status === 202).length, 1);
				console.log(
					`THROTTLE n8n ${n8n.LINES[line].version}: stop while waiting for a slot: ${late.length} requests after the stop, status ${status}`,
				);
			});

			test('a stop while items wait for a per-minute turn: canceled, no request to the API afterwards', async () => {
				const account = accounts.turn;
				const { late, status } = await stopWhileWaiting(
					account,
					'wsaiE2eCancelTn1',
					'two scrapes billed and one refused',
					() =>
						account.log('scrape').filter((entry) => entry.status === 200).length === 2 &&
						account.log('scrape').some((entry) => entry.status === 429),
				);
				assert.equal(account.log('scrape').filter((entry) => entry.status === 200).length, 2);
				console.log(
					`THROTTLE n8n ${n8n.LINES[line].version}: stop while waiting for a per-minute turn: ${late.length} requests after the stop, status ${status}`,
				);
			});

			/** The runs webscrape.ai started for an account, by item (recipe e2eLostA is item 0, …). */
			const startedRuns = (account) =>
				account
					.log('dispatch')
					.filter((entry) => entry.runId)
					.map((entry) => LOST_RECIPES.indexOf(entry.id))
					.sort();

			test('3 dispatches whose answers are lost, the error output off: webscrape.ai started 3 runs and the node error names all 3 items; nothing sent twice', async () => {
				const execution = await n8n.executeWorkflow(shared, 'wsaiE2eLostStop1');
				const { error } = execution.data.resultData;
				assert.equal(execution.status, 'error');
				assert.deepEqual(startedRuns(accounts.lostStop), [0, 1, 2]);
				assert.equal(accounts.lostStop.log('dispatch').length, 3, 'one dispatch per item');
				// The failed item by its recipe in the headline, the other two listed by item number.
				const headline = /^The run of recipe "(e2eLost[ABC])" may have started/.exec(error.message);
				assert.ok(headline, error.message);
				const named = [LOST_RECIPES.indexOf(headline[1])];
				for (const match of error.description.matchAll(
					/may have started a run, its answer lost \(item (\d)\)/g,
				))
					named.push(Number(match[1]));
				assert.deepEqual(named.sort(), [0, 1, 2], error.description);
				console.log(
					`ACCOUNTING n8n ${n8n.LINES[line].version}: 3 lost dispatch answers, no error output: ${startedRuns(accounts.lostStop).length} runs started, items named: ${named.join(', ')}; "${error.message}" — ${error.description}`,
				);
			});

			test('the same with the error output on: 3 error items, each saying its run may have started; nothing sent twice', async () => {
				const execution = await n8n.executeWorkflow(shared, 'wsaiE2eLostErrO1');
				assert.equal(execution.status, 'success');
				const [rows, errors] = nodeRun(execution).data.main;
				assert.equal(rows.length, 0);
				assert.deepEqual(
					errors.map((item) => [item.pairedItem.item, item.json.error]),
					LOST_RECIPES.map((id, item) => [
						item,
						`The run of recipe "${id}" may have started, but webscrape.ai's answer was lost`,
					]),
				);
				assert.deepEqual(startedRuns(accounts.lostErrorOutput), [0, 1, 2]);
				assert.equal(accounts.lostErrorOutput.log('dispatch').length, 3, 'one dispatch per item');
			});

			test('14 scrapes on a plan that allows 10 per minute: 14 items, 14 billed, each sent soon after the window let it in', async () => {
				const { result, wallMs } = await minuteBatch;
				assert.equal(result.data.resultData.error, undefined);
				const run = nodeRun(result);
				const items = run.data.main[0];
				assert.equal(items.length, 14);
				assert.deepEqual(
					items.map((item) => item.pairedItem.item),
					Array.from({ length: 14 }, (_, i) => i),
				);
				const scrapes = accounts.minute.log('scrape');
				const billed = scrapes.filter((entry) => entry.status === 200);
				assert.equal(billed.length, 14, 'each page billed once');
				assert.equal(new Set(billed.map((entry) => entry.body.website_url)).size, 14);
				// The plan's window slides: the 11th billed scrape is let in 60 s after the 1st, the 12th
				// 60 s after the 2nd, … (the simulator's clock). Each was sent soon after its turn came:
				// n8n waited for the window, not a fixed time or a window more. Held to the simulator's
				// log, not to the node's time: that also holds how long the first scrapes took, which
				// a loaded machine stretches (81 s once in CI, from the first ten).
				const lags = billed.slice(10).map((entry, index) => entry.at - (billed[index].at + 60000));
				console.log(
					`THROTTLE n8n ${n8n.LINES[line].version}: 14 scrapes at 10/min: node ${run.executionTime} ms (${wallMs} ms from its start), ${billed.length} billed, ${scrapes.length - billed.length} refused; the last four sent ${lags.map((lag) => `${(lag / 1000).toFixed(1)} s`).join(', ')} after their turn`,
				);
				// And, as before, about one window in all (61.8–62.7 s in CI with every suite side by side).
				assert.ok(
					run.executionTime >= 55000 && run.executionTime <= 75000,
					`${run.executionTime} ms`,
				);
				for (const lag of lags) assert.ok(lag <= 10000, `sent ${lag} ms after its turn`);
			});
		},
	);
}

module.exports = { setup, register };
