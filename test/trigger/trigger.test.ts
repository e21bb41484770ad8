import type { IDataObject, INodeExecutionData, IPairedItemData } from 'n8n-workflow';
import { request } from 'undici';

import type { TriggerSetup } from '../harness/engine';
import {
	callLifecycle,
	deliver,
	deliverAsExecution,
	processedData,
	setUpTrigger,
	visible,
} from '../harness/engine';
import { fs, http, PACKAGE_ROOT, path, requireModule } from '../harness/host';
import { loadPackageAsAnotherProcess } from '../another-process';
import { TEST_KEY, expectNoSecret, sleepMs } from '../helpers';
import { Simulator } from '../simulator';

const HEADER_SECRET = 'Bearer hook-secret-0123456789';
let sim: Simulator;
let baseUrl: string;
const seen: unknown[] = [];

beforeAll(async () => {
	sim = new Simulator();
	baseUrl = await sim.start();
	sim.addRecipe('hooked1', { durationMs: 200, pages: 2, itemsPerPage: 3 });
	sim.addRecipe('hookedFail', {
		durationMs: 200,
		outcome: 'failed',
		error: 'login form not found',
	});
	sim.addRecipe('other1', { durationMs: 200 });
});
afterAll(async () => await sim.stop());

async function dispatchRun(recipeId: string): Promise<string> {
	const response = await request(`${baseUrl}/smartbrowse/recipes/${recipeId}/run`, {
		method: 'POST',
		headers: { 'x-api-key': TEST_KEY },
		// A fresh connection: a pooled one can meet the simulator's keep-alive close on a busy machine.
		reset: true,
	});
	const body = (await response.body.json()) as { data: { run_id: string } };
	return body.data.run_id;
}

async function finishedRun(recipeId: string): Promise<string> {
	const runId = await dispatchRun(recipeId);
	await sleepMs(300);
	return runId;
}

function payloadOf(runId: string, style: 'plain' | 'prefixed' = 'plain') {
	return sim.webhookPayload(sim.runs.get(runId)!, style);
}

async function trigger(parameters: object = {}, credentials: object = {}): Promise<TriggerSetup> {
	return await setUpTrigger(
		{ events: ['completed', 'failed'], fetchRunDetails: true, output: 'run', ...parameters },
		{ apiKey: TEST_KEY, baseUrl, ...credentials },
	);
}

async function send(setup: TriggerSetup, body: unknown, headers: Record<string, string> = {}) {
	const result = await deliver(setup, { body, headers });
	seen.push(result);
	return result;
}

describe('WebScrape AI Trigger', () => {
	test("README's sample delivery (one command, no paid run) starts the workflow with the run it names", async () => {
		const readme = fs.readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
		const command = /curl -X POST '<Test URL>'[^`]*/.exec(readme)?.[0] ?? '';
		const header = /-H '(Authorization): (Bearer <Webhook Header Value>)'/.exec(command);
		const body = /-d '(\{.*\})'/s.exec(command)?.[1];
		expect(header).not.toBeNull();
		expect(body).toBeDefined();
		// The user puts an earlier run's ID (reading it is free) and their header value in.
		const runId = await finishedRun('hooked1');
		const sample = JSON.parse(body!.replace('<an earlier run ID>', runId)) as IDataObject;
		const setup = await trigger({}, { webhookHeaderValue: HEADER_SECRET });
		const result = await send(setup, sample, { authorization: HEADER_SECRET });
		expect(result.status).toBe(200);
		expect(result.emitted).toHaveLength(1);
		expect(result.emitted![0].json).toMatchObject({ id: runId, event: 'completed' });
	});

	test('end to end: the simulator POSTs a finished run over HTTP and the workflow gets the run with its items', async () => {
		const setup = await trigger();
		const emitted: INodeExecutionData[][] = [];
		const statuses: number[] = [];
		const listener = http.createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (chunk: Buffer) => chunks.push(chunk));
			req.on('end', async () => {
				const raw = Buffer.concat(chunks).toString('utf8');
				const result = await deliver(setup, {
					body: JSON.parse(raw),
					rawBody: raw,
					headers: req.headers as Record<string, string>,
				});
				if (result.emitted) emitted.push(result.emitted);
				statuses.push(result.status);
				res.writeHead(result.status, { 'content-type': 'application/json' });
				res.end(JSON.stringify(result.body ?? { message: 'Workflow was started' }));
			});
		});
		await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
		const url = `http://127.0.0.1:${(listener.address() as { port: number }).port}/webhook/abc/webhook`;
		sim.addRecipe('e2eHooked', {
			durationMs: 300,
			pages: 2,
			itemsPerPage: 2,
			webhook: { url, eventStyle: 'prefixed' },
		});
		try {
			const runId = await dispatchRun('e2eHooked');
			for (let i = 0; i < 50 && emitted.length === 0; i++) await sleepMs(100);
			await sim.deliveriesSettled();
			expect(statuses).toEqual([200]);
			expect(emitted).toHaveLength(1);
			const run = emitted[0][0].json as {
				result: { pages: Array<{ items: unknown[] }> };
			} & IDataObject;
			expect(run).toMatchObject({ id: runId, run_status: 'completed', event: 'completed' });
			expect(run.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
			expect(run.result.pages.map((page) => page.items.length)).toEqual([2, 2]);
			expect(sim.deliveries.filter((d) => d.runId === runId)[0].status).toBe(200);
		} finally {
			await new Promise((resolve) => listener.close(resolve));
		}
	});

	test('both event-name styles count, and the output says "completed"', async () => {
		const setup = await trigger();
		const runId = await finishedRun('hooked1');
		const plain = await send(setup, payloadOf(runId, 'plain'));
		const other = await finishedRun('hooked1');
		const prefixed = await send(setup, payloadOf(other, 'prefixed'));
		expect(plain.emitted?.[0].json.event).toBe('completed');
		expect(prefixed.emitted?.[0].json.event).toBe('completed');
	});

	test('the events filter passes and blocks', async () => {
		const onlyCompleted = await trigger({ events: ['completed'] });
		const failedRun = await finishedRun('hookedFail');
		const blocked = await send(onlyCompleted, payloadOf(failedRun, 'prefixed'));
		expect(blocked.status).toBe(200);
		expect(blocked.emitted).toBeUndefined();
		const withFailed = await trigger({ events: ['failed'] });
		const passed = await send(withFailed, payloadOf(failedRun, 'prefixed'));
		expect(passed.emitted?.[0].json).toMatchObject({
			run_status: 'failed',
			event: 'failed',
			error: 'login form not found',
		});
	});

	test('the recipe filter passes and blocks', async () => {
		const setup = await trigger({ recipeIds: ' hooked1 , somethingElse' });
		const mine = await finishedRun('hooked1');
		const theirs = await finishedRun('other1');
		expect((await send(setup, payloadOf(mine))).emitted).toHaveLength(1);
		const blocked = await send(setup, payloadOf(theirs));
		expect(blocked.status).toBe(200);
		expect(blocked.emitted).toBeUndefined();
	});

	test('header check: missing → 401, wrong → 401, right (name in another case) → emitted', async () => {
		const credentials = { webhookHeaderName: 'X-Webhook-Token', webhookHeaderValue: HEADER_SECRET };
		const setup = await trigger({}, credentials);
		const runId = await finishedRun('hooked1');
		const missing = await send(setup, payloadOf(runId));
		expect([missing.status, missing.emitted]).toEqual([401, undefined]);
		const wrong = await send(setup, payloadOf(runId), { 'X-Webhook-Token': 'Bearer guess' });
		expect([wrong.status, wrong.emitted]).toEqual([401, undefined]);
		const right = await send(setup, payloadOf(runId), { 'x-webhook-TOKEN': HEADER_SECRET });
		expect(right.status).toBe(200);
		expect(right.emitted).toHaveLength(1);
		expect(visible([missing, wrong])).not.toContain(HEADER_SECRET);
	});

	test('dedupe: the same delivery twice → one emission; in one process the repeat starts no execution, and static data holds nothing per delivery', async () => {
		const setup = await trigger();
		const runId = await finishedRun('hooked1');
		const first = await send(setup, payloadOf(runId));
		const second = await send(setup, payloadOf(runId, 'prefixed'));
		expect(first.emitted).toHaveLength(1);
		expect([second.status, second.body, second.started]).toEqual([
			200,
			{ received: true, started: false },
			undefined,
		]);
		expect(setup.workflow.staticData['node:WebScrape AI Trigger']).toBeUndefined();
		// Turned off, repeats start the workflow again.
		const noDedupe = await trigger({ options: { dedupe: false } });
		expect((await send(noDedupe, payloadOf(runId))).emitted).toHaveLength(1);
		expect((await send(noDedupe, payloadOf(runId))).emitted).toHaveLength(1);
	});

	test("a repeat that reaches another n8n process starts an execution there, which emits nothing: the record in n8n's database decides", async () => {
		const params = { events: ['completed', 'failed'], fetchRunDetails: true, output: 'run' };
		const credentials = { apiKey: TEST_KEY, baseUrl };
		const runId = await finishedRun('hooked1');
		const processA = await setUpTrigger(params, credentials, { workflowId: 'two-processes-wf' });
		const processB = await setUpTrigger(params, credentials, {
			workflowId: 'two-processes-wf',
			nodeTypes: await loadPackageAsAnotherProcess(),
		});
		expect((await send(processA, payloadOf(runId))).emitted).toHaveLength(1);
		const repeat = await send(processB, payloadOf(runId));
		expect(repeat.body).toEqual({ received: true, started: true });
		expect(repeat.execution?.status).toBe('success');
		expect(repeat.emitted).toBeUndefined();
		// A different event of the same run still emits.
		const failedRun = await finishedRun('hookedFail');
		expect((await send(processB, payloadOf(failedRun))).emitted).toHaveLength(1);
	});

	test("n8n's database failing: the execution fails and emits nothing, saying why; the delivery sent again afterwards is emitted once", async () => {
		const setup = await trigger();
		const runId = await finishedRun('hooked1');
		processedData.failCalls = 1000;
		const failed = await send(setup, payloadOf(runId)).finally(() => {
			processedData.failCalls = 0;
		});
		expect(failed.status).toBe(200);
		expect(failed.emitted).toBeUndefined();
		expect(failed.execution?.status).toBe('error');
		expect(failed.execution?.error?.message).toBe(
			`Could not record the delivery of run "${runId}" (completed) in n8n's database, so it was not emitted [item 0]`,
		);
		expect(failed.execution?.error?.description).toContain(
			'if webscrape.ai sends it again, that delivery is emitted',
		);
		// Not swallowed as a repeat: nothing was recorded, so the next delivery of it goes through …
		const again = await send(setup, payloadOf(runId));
		expect(again.emitted).toHaveLength(1);
		// … once.
		expect((await send(setup, payloadOf(runId))).started).toBeUndefined();
	}, 30_000);

	test('a test event (manual mode) is neither checked nor recorded: it always shows, and the production delivery of the run still goes through', async () => {
		const setup = await trigger();
		const runId = await finishedRun('hooked1');
		const test1 = await deliverAsExecution(setup, payloadOf(runId), 'manual');
		const test2 = await deliverAsExecution(setup, payloadOf(runId), 'manual');
		expect([test1.outputs[0]?.length, test2.outputs[0]?.length]).toEqual([1, 1]);
		expect((await send(setup, payloadOf(runId))).emitted).toHaveLength(1);
		expect((await deliverAsExecution(setup, payloadOf(runId))).outputs[0] ?? []).toHaveLength(0);
	});

	test('activation drops the dedupe list older versions kept in static data', async () => {
		const setup = await setUpTrigger(
			{ events: ['completed'], fetchRunDetails: true, output: 'run' },
			{ apiKey: TEST_KEY, baseUrl },
			{
				staticData: {
					'node:WebScrape AI Trigger': { deliveries: ['a:completed', 'b:completed'], epoch: 'e1' },
				},
			},
		);
		await callLifecycle(setup, 'create');
		expect(setup.workflow.staticData['node:WebScrape AI Trigger']).toEqual({});
	});

	test('bounds: a process remembers the last 5,000 emitted deliveries, the record the last 500; a repeat older than both is emitted again', async () => {
		const { EMITTED_MEMORY } = requireModule<{ EMITTED_MEMORY: number }>(
			path.join(PACKAGE_ROOT, 'dist/nodes/WebScrapeAiTrigger/emitted.js'),
		);
		const { DELIVERY_ENTRIES } = requireModule<{ DELIVERY_ENTRIES: number }>(
			path.join(PACKAGE_ROOT, 'dist/nodes/WebScrapeAi/exactlyOnce/nodeRow.js'),
		);
		expect([EMITTED_MEMORY, DELIVERY_ENTRIES]).toEqual([5000, 1000]);
		const setup = await trigger({ fetchRunDetails: false });
		const body = (n: number) => ({
			event: 'completed',
			run_id: `bound${n}`,
			recipe_id: 'hooked1',
			timestamp: '2026-05-21T17:04:12Z',
		});
		const other = await setUpTrigger(
			{ events: ['completed'], fetchRunDetails: false, output: 'run' },
			{ apiKey: TEST_KEY, baseUrl },
			{ workflowId: setup.workflow.id!, nodeTypes: await loadPackageAsAnotherProcess() },
		);
		for (let n = 0; n <= EMITTED_MEMORY; n++) await deliver(setup, { body: body(n) });
		// The newest 500 are still in the record: another process emits none of them.
		// (The oldest first: each check adds its execution's entry, which pushes out the oldest.)
		expect((await deliver(other, { body: body(EMITTED_MEMORY - 499) })).emitted).toBeUndefined();
		expect((await deliver(other, { body: body(EMITTED_MEMORY) })).emitted).toBeUndefined();
		// Older ones only this process remembers …
		expect((await deliver(setup, { body: body(1) })).started).toBeUndefined();
		expect((await deliver(other, { body: body(1) })).emitted).toHaveLength(1);
		// … and the oldest neither.
		expect((await deliver(setup, { body: body(0) })).emitted).toHaveLength(1);
	}, 60_000);

	test('the sender is answered before the run is read: the run is read inside the execution', async () => {
		const setup = await trigger({ output: 'items' });
		const runId = await finishedRun('hooked1');
		sim.clearLog();
		const result = await send(setup, payloadOf(runId));
		// webhook() itself read nothing: it answered and handed n8n the delivery.
		expect(result.status).toBe(200);
		expect(result.body).toEqual({ received: true, started: true });
		expect(result.started?.map((item) => item.json)).toEqual([
			expect.objectContaining({ run_id: runId, event: 'completed' }),
		]);
		// The execution read the run once and emitted its rows, paired to the delivery.
		expect(sim.requests('run')).toHaveLength(1);
		expect(result.execution?.status).toBe('success');
		expect(result.emitted).toHaveLength(6);
		expect(result.emitted?.every((item) => (item.pairedItem as IPairedItemData).item === 0)).toBe(
			true,
		);
	});

	test('a run of another account or a forged run (404) fails the execution with what to check', async () => {
		const setup = await trigger();
		const forged = {
			event: 'completed',
			run_id: 'forgedRun01',
			recipe_id: 'hooked1',
			timestamp: '2026-05-21T17:04:12Z',
		};
		const result = await send(setup, forged);
		expect(result.status).toBe(200);
		expect(result.emitted).toBeUndefined();
		expect(result.execution?.status).toBe('error');
		expect(result.execution?.error?.message).toBe(
			'webscrape.ai has no run "forgedRun01" under this credential\'s account [item 0]',
		);
		expect(result.execution?.error?.description).toContain('another webscrape.ai account');
	});

	test('a status mismatch (delivery says failed, the run completed) emits nothing', async () => {
		const setup = await trigger();
		const runId = await finishedRun('hooked1');
		const result = await send(setup, { ...payloadOf(runId), event: 'failed', status: 'failed' });
		expect(result.execution?.status).toBe('success');
		expect(result.emitted).toBeUndefined();
		// and the genuine delivery still goes through afterwards
		expect((await send(setup, payloadOf(runId))).emitted).toHaveLength(1);
	});

	test('a delivery that arrives while webscrape.ai still reports the run in progress waits for it to end', async () => {
		const setup = await trigger();
		const runId = await dispatchRun('hooked1');
		const early = { ...payloadOf(runId), event: 'completed', status: 'completed' };
		sim.clearLog();
		const result = await send(setup, early);
		expect(result.emitted?.[0].json).toMatchObject({ id: runId, run_status: 'completed' });
		expect(sim.requests('run').length).toBeGreaterThanOrEqual(2);
	});

	test('API down for a while: the execution reads the run again and goes on', async () => {
		const setup = await trigger();
		const runId = await finishedRun('hooked1');
		sim.fault({ route: 'run', type: 'status', status: 500, retryAfter: 0, times: 4 });
		const result = await send(setup, payloadOf(runId));
		expect(result.status).toBe(200);
		expect(result.emitted).toHaveLength(1);
		expect(sim.requests('run').filter((r) => r.status === 500)).toHaveLength(4);
	});

	test('API down throughout: the execution fails within 20 s, saying the delivery is kept in it', async () => {
		const setup = await trigger();
		const runId = await finishedRun('hooked1');
		sim.fault({ route: 'run', type: 'status', status: 500, retryAfter: 0, times: 1000 });
		const startedAt = Date.now();
		const result = await send(setup, payloadOf(runId));
		sim.clearFaults();
		expect(result.status).toBe(200);
		expect(result.emitted).toBeUndefined();
		expect(result.execution?.status).toBe('error');
		expect(result.execution?.error?.message).toMatch(
			new RegExp(
				`^Could not confirm run "${runId}" with webscrape.ai within 20 s: webscrape.ai could not be read: .+ \\[item 0\\]$`,
			),
		);
		expect(result.execution?.error?.description).toContain("retry it from n8n's executions list");
		expect(Date.now() - startedAt).toBeLessThan(30_000);
	}, 40_000);

	test.each([
		['not JSON', 'this is not json'],
		['a JSON array', [{ run_id: 'x', event: 'completed' }]],
		['no run_id', { event: 'completed' }],
		['run_id a number', { run_id: 123, event: 'completed' }],
	])('malformed body (%s) → 400, nothing emitted, nothing echoed', async (_name, body) => {
		const setup = await trigger();
		const result = await send(setup, body);
		expect(result.status).toBe(400);
		expect(result.emitted).toBeUndefined();
		expect(JSON.stringify(result.body)).not.toContain('completed');
	});

	test('output "items" → one item per extracted item', async () => {
		const setup = await trigger({ output: 'items' });
		const runId = await finishedRun('hooked1');
		const result = await send(setup, payloadOf(runId));
		expect(result.emitted?.map((item) => item.json.name)).toEqual([
			'Product 1-1',
			'Product 1-2',
			'Product 1-3',
			'Product 2-1',
			'Product 2-2',
			'Product 2-3',
		]);
	});

	test('without fetching run details the delivery itself is emitted, event normalised', async () => {
		const setup = await trigger({ fetchRunDetails: false });
		const runId = await finishedRun('hooked1');
		sim.clearLog();
		const result = await send(setup, payloadOf(runId, 'prefixed'));
		expect(result.emitted?.[0].json).toMatchObject({
			run_id: runId,
			event: 'completed',
			items_extracted: 6,
		});
		expect(sim.requests('run')).toHaveLength(0);
	});

	test('activation checks the key: revoked → fails with a clear message; valid → succeeds', async () => {
		const revoked = 'wsg_live_REVOKEDkey0123456789abcdefghijk';
		sim.addKey(revoked);
		sim.revokeKey(revoked);
		const bad = await trigger({}, { apiKey: revoked });
		const failure = await callLifecycle(bad, 'create').catch((error: Error) => error);
		expect(failure).toBeInstanceOf(Error);
		expect((failure as Error).message).toBe('webscrape.ai rejected the API key');
		expect(visible(failure)).not.toContain(revoked);
		const good = await trigger();
		expect(await callLifecycle(good, 'checkExists')).toBe(false);
		expect(await callLifecycle(good, 'create')).toBe(true);
		expect(await callLifecycle(good, 'delete')).toBe(true);
	});

	test('secrets appear in no output, error or response body', () => {
		expectNoSecret(seen, [TEST_KEY, HEADER_SECRET]);
	});
});
