'use strict';
/**
 * End to end in real n8n (registered on each line's shared n8n by e2e/e2e.test.js): the package
 * loaded by n8n's community-package loader, the examples executed by n8n, the trigger activated and
 * hit over n8n's own HTTP server by the simulator's deliveries, MCP clients, assertions on what n8n
 * recorded.
 */
const assert = require('node:assert/strict');
const { before, describe, test } = require('node:test');

const demo = require('../demo');
const n8n = require('../n8n');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const { until } = demo;

/** Before the shared n8n starts: the demo's credential and examples, and two recipes of its own. */
function setup(shared) {
	// A run a model should not read whole: 100 pages × 1,000 rows.
	shared.sim.addRecipe('bigRecipe01', { pages: 100, itemsPerPage: 1000, durationMs: 500 });
	// A realistic SmartBrowse run: longer than an MCP client's default 60 s request timeout.
	shared.sim.addRecipe('longRecipe1', { pages: 1, itemsPerPage: 3, durationMs: 90_000 });
	return {
		credentials: [demo.credential(shared.sim.baseUrl)],
		workflows: demo.examples(),
		activate: [demo.TRIGGER_WORKFLOW_ID, demo.MCP_WORKFLOW_ID],
	};
}

function register(line, shared) {
	describe(`n8n ${n8n.LINES[line].version}`, { timeout: 30 * 60 * 1000 }, () => {
		let sim;
		let simBaseUrl;
		let instance;
		let session;
		let key;

		before(() => {
			({ sim, instance, session, key } = shared);
			simBaseUrl = sim.baseUrl;
		});

		const triggerExecutions = async () => {
			const result = await n8n.publicApi(
				instance,
				key,
				'GET',
				`/executions?workflowId=${demo.TRIGGER_WORKFLOW_ID}&includeData=true&limit=250`,
			);
			assert.equal(result.status, 200, JSON.stringify(result.body));
			return result.body.data;
		};

		test('both nodes, the tool variant and the examples are loaded', async () => {
			const types = await (
				await fetch(`${instance.baseUrl}/types/nodes.json`, { headers: { cookie: session.cookie } })
			).json();
			const names = types.map((type) => type.name);
			for (const name of ['webScrapeAi', 'webScrapeAiTrigger', 'webScrapeAiTool']) {
				assert.ok(names.includes(`n8n-nodes-webscrape-ai.${name}`), `${name} missing`);
			}
			const workflows = await n8n.publicApi(instance, key, 'GET', '/workflows');
			const ids = workflows.body.data.map((workflow) => workflow.id);
			for (const example of demo.examples())
				assert.ok(ids.includes(example.id), `${example.id} not imported`);
		});

		test('run a recipe and use its rows: 12 rows, each paired', async () => {
			const result = await n8n.executeWorkflow(shared, 'wsaiExRunRecipe1');
			const rows = result.data.resultData.runData['Use the rows'][0].data.main[0];
			assert.equal(rows.length, 12);
			assert.deepEqual(rows[0].json, { product: 'Product 1-1', price: 10, cheap: true });
			const runRows = result.data.resultData.runData['Run recipe'][0].data.main[0];
			assert.ok(runRows.every((row) => row.pairedItem.item === 0));
		});

		test('a failed run goes to the error output', async () => {
			const result = await n8n.executeWorkflow(shared, 'wsaiExFailures01');
			const runData = result.data.resultData.runData;
			const reported = runData['Report the failure'][0].data.main[0];
			assert.equal(reported.length, 1);
			assert.match(reported[0].json.problem, /failed: target page did not load within timeout/);
			assert.equal(runData['Use the rows'], undefined);
		});

		test('a batch of 5 dispatched without waiting; the trigger workflow runs once per finished run, with its items', async () => {
			sim.clearLog();
			const result = await n8n.executeWorkflow(shared, 'wsaiExBatch00001');
			const started = result.data.resultData.runData['Start runs'][0].data.main[0];
			assert.equal(started.length, 5);
			const runIds = started.map((item) => item.json.run_id);
			assert.equal(new Set(runIds).size, 5);
			assert.equal(sim.requests('dispatch').length, 5);
			// The trigger's executions of these runs, picked by run ID: a late delivery of an earlier
			// case's run can start one in between (it did in CI, under load).
			const runOf = (execution) =>
				execution.data?.resultData?.runData?.['When a run ends']?.[0]?.data?.main?.[0]?.[0]?.json;
			const summaries = await until(
				'5 trigger executions',
				async () => {
					const ours = (await triggerExecutions())
						.filter((execution) => execution.finished || execution.status === 'success')
						.map(runOf)
						.filter((run) => run && runIds.includes(run.id));
					return ours.length >= 5 ? ours : undefined;
				},
				60000,
			);
			assert.deepEqual(summaries.map((run) => run.id).sort(), [...runIds].sort());
			for (const run of summaries) {
				assert.equal(run.event, 'completed');
				assert.equal(run.result.pages.length, 3);
				assert.equal(run.result.pages[0].items.length, 4);
			}
			assert.ok(
				sim.deliveries
					.filter((delivery) => runIds.includes(delivery.runId))
					.every((delivery) => delivery.status === 200),
			);
		});

		test('a delivery with a wrong header is rejected (401) and leaves no execution; repeats of every finished run leave none either', async () => {
			// Runs of the recipes whose webhook points at the trigger (other suites' runs have none).
			const finished = [...sim.runs.values()].filter(
				(run) => run.outcome === 'completed' && sim.recipes.get(run.recipeId).webhook,
			);
			assert.ok(finished.length >= 6);
			const before = (await triggerExecutions()).length;
			await sim.deliver(finished[0].id, { headers: { Authorization: 'Bearer wrong' } });
			assert.equal(sim.deliveries.at(-1).status, 401);
			// The batch's 5 deliveries arrived together; every one was recorded as emitted.
			for (const run of finished) {
				await sim.deliver(run.id);
				assert.equal(sim.deliveries.at(-1).status, 200);
				assert.match(sim.deliveries.at(-1).responseBody, /"started":false/);
			}
			await sleep(2000);
			assert.equal((await triggerExecutions()).length, before);
			// Nothing per delivery in the workflow's static data (n8n rewrites it whole): the record is
			// the trigger's processed_data row.
			const stored = await n8n.publicApi(
				instance,
				key,
				'GET',
				`/workflows/${demo.TRIGGER_WORKFLOW_ID}`,
			);
			const staticData =
				typeof stored.body.staticData === 'string'
					? JSON.parse(stored.body.staticData)
					: stored.body.staticData;
			assert.equal(staticData?.['node:When a run ends']?.deliveries, undefined);
		});

		test('an MCP client (the official TypeScript SDK) lists and calls the tools through the MCP Server Trigger', async () => {
			const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
			const {
				StreamableHTTPClientTransport,
			} = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
			const client = new Client({ name: 'wsai-e2e', version: '1.0.0' });
			const url = new URL(`${instance.baseUrl}/mcp/webscrape-ai`);
			await demo.until('the MCP endpoint', async () => {
				try {
					await client.connect(new StreamableHTTPClientTransport(url));
					return true;
				} catch {
					return false;
				}
			});
			try {
				const { tools } = await client.listTools();
				const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
				assert.deepEqual(Object.keys(byName).sort(), [
					'Extract_data',
					'Get_a_run',
					'Run_a_recipe',
					'Scrape_a_page',
				]);
				assert.match(byName.Run_a_recipe.description, /costs 2 credits per page extracted/);
				assert.match(byName.Extract_data.description, /Costs 5 webscrape\.ai credits per page/);
				assert.deepEqual(Object.keys(byName.Run_a_recipe.inputSchema.properties), ['Recipe_ID']);
				assert.match(
					byName.Run_a_recipe.inputSchema.properties.Recipe_ID.description,
					/11 letters/,
				);
				assert.deepEqual(Object.keys(byName.Extract_data.inputSchema.properties).sort(), [
					'Prompt',
					'URL',
				]);

				const seenTexts = [];
				const call = async (name, args) => {
					const result = await client.callTool({ name, arguments: args });
					const text = result.content.map((part) => part.text ?? '').join('\n');
					seenTexts.push(text);
					return { isError: result.isError === true, text };
				};
				const parsed = (text) => JSON.parse(text);

				sim.clearLog();
				const rows = await call('Run_a_recipe', { Recipe_ID: 'm3Yc2tFvN8q' });
				assert.equal(rows.isError, false, rows.text);
				const rowItems = parsed(rows.text);
				assert.equal(rowItems.length, 12);
				assert.deepEqual(rowItems[0], {
					name: 'Product 1-1',
					price: 10,
					url: 'https://shop.example/m3Yc2tFvN8q/p1/1',
				});
				assert.equal(sim.requests('dispatch').length, 1);
				// The first call got the run's rows: a second call is a second run.
				const again = await call('Run_a_recipe', { Recipe_ID: 'm3Yc2tFvN8q' });
				assert.equal(again.isError, false, again.text);
				assert.equal(sim.requests('dispatch').length, 2);

				const done = sim.seedCompletedRun('m3Yc2tFvN8q');
				const run = await call('Get_a_run', { Run_ID: done.id });
				assert.equal(parsed(run.text).length, 12);

				const page = await call('Scrape_a_page', { URL: 'https://example.com/page/1' });
				assert.equal(page.isError, false, page.text);
				assert.ok(parsed(page.text)[0].cleaned);
				const extracted = await call('Extract_data', {
					URL: 'https://example.com/page/1',
					Prompt: 'the title',
				});
				assert.equal(extracted.isError, false, extracted.text);
				assert.ok(parsed(extracted.text)[0].result);

				// The example gives Extract_data a budget of 50 credits: a model calling it in a loop
				// is answered in words once the budget is reached, and nothing past it is sent.
				let budgetNote;
				let loopCalls = 0;
				while (!budgetNote && loopCalls < 20) {
					loopCalls++;
					const looped = await call('Extract_data', {
						URL: `https://example.com/loop/${loopCalls}`,
						Prompt: 'the title',
					});
					assert.equal(looped.isError, false, looped.text);
					budgetNote = parsed(looped.text)[0].note;
				}
				assert.ok(budgetNote, `no budget answer after ${loopCalls} calls`);
				assert.match(budgetNote, /^Budget of 50 credits for .+ reached: spent 50\. /);
				const extractsSent = sim.requests('extract').filter((entry) => entry.status === 200);
				assert.equal(extractsSent.length, 10);
				console.log(
					`BUDGET MCP n8n ${n8n.LINES[line].version}: Extract_data called ${loopCalls + 1} times, ${extractsSent.length} sent (50 credits); the model read: ${budgetNote}`,
				);

				// Wrong arguments, unknown IDs and failed runs: an answer (not a tool error) whose words
				// say what happened, what it cost and what to do next.
				const answerText = (result) => {
					assert.equal(result.isError, false, result.text);
					const answer = parsed(result.text);
					assert.equal(answer.length, 1, result.text);
					return answer[0].error;
				};
				const malformed = await call('Run_a_recipe', { Recipe_ID: 'not a recipe id!' });
				assert.match(
					answerText(malformed),
					/^Recipe ID "not a recipe id!" is not a valid ID\. .*for example m3Yc2tFvN8q.*Nothing was sent/,
				);
				assert.ok(malformed.text.length < 600, malformed.text);
				const unknown = await call('Get_a_run', { Run_ID: 'unknownRun1' });
				assert.match(answerText(unknown), /not found/);
				const failed = await call('Run_a_recipe', { Recipe_ID: 'demoFailing1' });
				assert.match(
					answerText(failed),
					/failed: target page did not load within timeout\. It cost nothing/,
				);
				for (const text of [malformed.text, unknown.text, failed.text])
					assert.doesNotMatch(text, /\n\s+at |"stack"|NodeApiError|"envelope"|\[item \d+\]/);

				// A 100,000-row run: 100 rows and a note a model can act on.
				const big = await call('Run_a_recipe', { Recipe_ID: 'bigRecipe01' });
				assert.equal(big.isError, false, big.text.slice(0, 500));
				const bigItems = parsed(big.text);
				assert.equal(bigItems.length, 101);
				assert.match(bigItems[100].note, /^Showing the first 100 of 100000 rows of run \w+/);
				assert.equal(bigItems[100].rows_total, 100000);
				assert.ok(big.text.length < 20000, `${big.text.length} characters`);

				// The session still works after the errors.
				assert.equal((await call('Get_a_run', { Run_ID: done.id })).isError, false);
				for (const text of seenTexts) assert.ok(!text.includes(demo.TEST_KEY), 'key in a result');
				console.log(
					`MCP n8n ${n8n.LINES[line].version}: ${tools.length} tools listed; ${seenTexts.length} calls; 100,000-row run returned ${big.text.length} characters; error texts: ${JSON.stringify([malformed.text, unknown.text, failed.text])}`,
				);
			} finally {
				await client.close();
			}
		});

		test("a 90-second run through MCP at the client's default timeout: the call answers in time with the run ID and a note, a repeat names the same run, Get a run returns its rows, one run started", async () => {
			const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
			const {
				StreamableHTTPClientTransport,
			} = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
			// The official SDK at its defaults: a request gives up after 60 s.
			const client = new Client({ name: 'wsai-e2e-long', version: '1.0.0' });
			await client.connect(
				new StreamableHTTPClientTransport(new URL(`${instance.baseUrl}/mcp/webscrape-ai`)),
			);
			const dispatches = () =>
				sim.requests('dispatch').filter((entry) => entry.path.includes('/longRecipe1/'));
			const call = async (name, args) => {
				const started = Date.now();
				const result = await client.callTool({ name, arguments: args });
				const text = result.content.map((part) => part.text ?? '').join('\n');
				assert.ok(!text.includes(demo.TEST_KEY), 'key in a result');
				return { isError: result.isError === true, text, ms: Date.now() - started };
			};
			try {
				const first = await call('Run_a_recipe', { Recipe_ID: 'longRecipe1' });
				assert.equal(first.isError, false, first.text);
				assert.ok(first.ms < 60_000, `answered after ${first.ms} ms`);
				const [pending] = JSON.parse(first.text);
				const runId = pending.run_id;
				assert.match(runId, /^\w+$/);
				assert.equal(pending.status, 'running');
				assert.match(pending.note, /goes on by itself and costs nothing more/);
				assert.match(pending.note, new RegExp(`with run ID ${runId}`));
				assert.match(pending.note, /Do not run the recipe again/);
				assert.equal(dispatches().length, 1);

				// The model calls the recipe again while the run goes on: that run, not a second one.
				const repeat = await call('Run_a_recipe', { Recipe_ID: 'longRecipe1' });
				assert.equal(repeat.isError, false, repeat.text);
				assert.ok(repeat.ms < 60_000, `answered after ${repeat.ms} ms`);
				const repeated = JSON.parse(repeat.text);
				const repeatNamesRun =
					repeated.length === 1 && repeated[0].run_id === runId
						? /no second run was started/.test(repeated[0].note)
						: repeated.length === 3 && repeated[0].name === 'Product 1-1';
				assert.ok(repeatNamesRun, repeat.text);
				assert.equal(dispatches().length, 1);

				await demo.until(
					'the long run to end',
					async () => sim.runStatus(sim.runs.get(runId)) === 'completed',
					90_000,
				);
				const rows = await call('Get_a_run', { Run_ID: runId });
				assert.equal(rows.isError, false, rows.text);
				assert.deepEqual(
					JSON.parse(rows.text).map((row) => row.name),
					['Product 1-1', 'Product 1-2', 'Product 1-3'],
				);
				assert.equal(dispatches().length, 1);
				console.log(
					`MCP long run n8n ${n8n.LINES[line].version}: first call ${first.ms} ms (note), repeat ${repeat.ms} ms (${repeated.length === 1 ? 'note naming the run' : 'its rows'}), Get a run ${rows.ms} ms (3 rows), runs started 1`,
				);
			} finally {
				await client.close();
			}
		});

		test("the credential test through n8n's own endpoint: valid and invalid key", async () => {
			const test = async (apiKey) =>
				await session.rest('POST', '/credentials/test', {
					credentials: {
						id: 'wsaiDemoCred0001',
						name: 'test',
						type: 'webScrapeAiApi',
						data: { apiKey, baseUrl: simBaseUrl },
					},
				});
			const valid = await test(demo.TEST_KEY);
			assert.equal(valid.body.data.status, 'OK', JSON.stringify(valid.body));
			const invalid = await test('wsaiWRONGkey');
			assert.equal(invalid.body.data.status, 'Error');
			assert.doesNotMatch(JSON.stringify(invalid.body), /wsg_live_TEST/);
		});
	});
}

module.exports = { setup, register };
