import type { INodeTypes } from 'n8n-workflow';

import { loadPackageAsAnotherProcess } from '../another-process';
import { logLines, processedData } from '../harness/engine';
import { expectNoSecret, figure, sleepMs, useSimulator } from '../helpers';

/**
 * The billed-call record at sizes and ages a workflow reaches in production: a batch far larger than
 * the row's entry cap, a second attempt late in it, a database that keeps rows in a 64 KiB TEXT
 * column (MySQL/MariaDB under n8n 1.x), and a database that stalls. The table is n8n's helper's
 * model (test/harness/engine.ts): it reads a row, then writes it back whole.
 */
const api = useSimulator();

const CLAIM_ROW_CAP_BYTES = 60 * 1024;
const scrape = { resource: 'page', operation: 'scrape', url: '={{ $json.url }}' };
const urls = (count: number, tag: string) =>
	Array.from({ length: count }, (_, index) => ({ url: `https://example.com/${tag}/${index}` }));

/** The node's claims row (the harness names the action node "action-node"). */
const claimRowKey = (workflowId: string) => `${workflowId}|n:action-node`;

beforeAll(() => {
	api.sim.account().credits = 1_000_000;
});
afterEach(() => {
	processedData.maxValueBytes = 0;
	processedData.frozenUntil = 0;
});

test('a 12,000-page Page → Scrape (more than the 10,000 claims the row used to keep) stopped late and run again scrapes no URL twice; its row stays small', async () => {
	const workflowId = 'wf-record-12k';
	const items = urls(12_000, 'big');
	api.sim.clearLog();
	// The first attempt ends when its worker dies (here: a cancel) after most of the batch.
	const dying = await api.run(scrape, items, {
		executionId: 'exec-12k',
		workflowId,
		cancelWhen: () => api.sim.requests('scrape').length >= 11_000,
	});
	expect(dying.status).toBe('canceled');
	// Requests in flight at the cancel are answered after it.
	await sleepMs(500);
	const sentFirst = api.sim.requests('scrape').length;
	// The first attempt folded as it went; the second, which cannot tell whether the first still
	// runs, keeps its claims (up to the row's cap) instead.
	const largestFirst = processedData.largestBytes.get(claimRowKey(workflowId)) ?? 0;
	expect(sentFirst).toBeGreaterThan(10_000);
	expect(sentFirst).toBeLessThan(12_000);

	const again = await api.run(scrape, items, {
		executionId: 'exec-12k',
		workflowId,
		onError: 'continueErrorOutput',
	});
	const sent = api.sim
		.requests('scrape')
		.map((entry) => (entry.body as { website_url: string }).website_url);
	expect(new Set(sent).size).toBe(sent.length);
	expect(sent.length).toBeLessThanOrEqual(12_000);
	const [pages, refused] = again.outputs;
	// Every page is either scraped by the second attempt or refused as handled by the first.
	expect((pages?.length ?? 0) + (refused?.length ?? 0)).toBe(12_000);
	expect(sent.length - sentFirst).toBe(pages?.length ?? 0);
	for (const item of refused ?? [])
		expect(String(item.json.error)).toMatch(
			/^(An earlier attempt of this execution already handled this item|This page was already sent to webscrape\.ai by an earlier attempt)/,
		);
	const largest = processedData.largestBytes.get(claimRowKey(workflowId)) ?? 0;
	figure(
		`12,000-page batch: first attempt sent ${sentFirst}, second ${sent.length - sentFirst}, refused ${refused?.length ?? 0}, none twice; claims row at most ${largestFirst} bytes during the first attempt, ${largest} bytes in all`,
	);
	expect(largestFirst).toBeLessThan(8 * 1024);
	expect(largest).toBeLessThanOrEqual(27_027);
	expectNoSecret(api.seen);
}, 240_000);

test('two attempts of a 300-page batch running at the same moment scrape no URL twice', async () => {
	// n8n ran the job again while its first worker lives on: the first attempt has folded a few
	// steps when the second starts in another process. The second marks itself; the first must stop
	// folding then, or it removes claims the second has not checked yet (pages sent twice).
	const workflowId = 'wf-record-two-alive';
	const items = urls(300, 'alive');
	api.sim.clearLog();
	const otherProcess = await loadPackageAsAnotherProcess();
	const first = api.run(scrape, items, {
		executionId: 'exec-alive',
		workflowId,
		onError: 'continueErrorOutput',
	});
	while (api.sim.requests('scrape').length < 100) await sleepMs(2);
	const second = api.run(scrape, items, {
		executionId: 'exec-alive',
		workflowId,
		onError: 'continueErrorOutput',
		nodeTypes: otherProcess,
	});
	const [a, b] = await Promise.all([first, second]);
	const sent = api.sim
		.requests('scrape')
		.map((entry) => (entry.body as { website_url: string }).website_url);
	expect(new Set(sent).size).toBe(sent.length);
	expect(new Set(sent).size).toBe(300);
	// Each attempt handles every item: scraped, or refused as sent by the other.
	for (const attempt of [a, b])
		expect((attempt.outputs[0]?.length ?? 0) + (attempt.outputs[1]?.length ?? 0)).toBe(300);
	expect((a.outputs[0]?.length ?? 0) + (b.outputs[0]?.length ?? 0)).toBe(300);
}, 120_000);

test('on a 64 KiB TEXT column (MySQL/MariaDB) a 3,000-page batch and the next 3,000 are all recorded and sent', async () => {
	processedData.maxValueBytes = 65_535;
	const workflowId = 'wf-record-mariadb';
	api.sim.clearLog();
	for (const [tag, executionId] of [
		['a', 'exec-mariadb-a'],
		['b', 'exec-mariadb-b'],
	]) {
		const run = await api.run(scrape, urls(3_000, tag), { executionId, workflowId });
		expect(run.error).toBeUndefined();
		expect(run.outputs[0]).toHaveLength(3_000);
	}
	expect(api.sim.requests('scrape')).toHaveLength(6_000);
	const largest = processedData.largestBytes.get(claimRowKey(workflowId)) ?? 0;
	expect(largest).toBeLessThan(CLAIM_ROW_CAP_BYTES);
}, 120_000);

test('history does not grow the row past its cap: 1,500 one-page executions, the last writes the same size', async () => {
	const workflowId = 'wf-record-history';
	const key = claimRowKey(workflowId);
	const sizes: number[] = [];
	for (let execution = 0; execution < 1_500; execution++) {
		const before = processedData.bytesWritten.get(key) ?? 0;
		const run = await api.run(scrape, urls(1, `h${execution}`), {
			executionId: `exec-history-${execution}`,
			workflowId,
		});
		expect(run.error).toBeUndefined();
		sizes.push((processedData.bytesWritten.get(key) ?? 0) - before);
	}
	const largest = processedData.largestBytes.get(key) ?? 0;
	expect(largest).toBeLessThan(CLAIM_ROW_CAP_BYTES);
	// Once the row is full, a billed call writes the same bytes at the 1,100th and the 1,500th.
	expect(sizes[1_499]).toBe(sizes[1_099]);
	expect(largest).toBeLessThan(28 * 1024);
	figure(
		`history: bytes written per billed call at 1, 500, 1,100 and 1,500 executions: ${[0, 499, 1_099, 1_499].map((at) => sizes[at]).join(', ')}; largest row ${largest} bytes`,
	);
}, 180_000);

test('a database that stalls 16 s while a holder writes: its lock is not taken, no process goes on without the lock, nothing is sent twice', async () => {
	const workflowId = 'wf-record-stall';
	api.sim.clearLog();
	logLines.length = 0;
	processedData.gapMs = 20;
	const lockKey = `${workflowId}|`;
	// Two attempts of the same execution at once (a job run again while its first worker lives on),
	// and two other executions of the workflow, each in a process of its own, all waiting for the
	// lock when the database stalls.
	const processes: INodeTypes[] = [];
	for (let count = 0; count < 3; count++) processes.push(await loadPackageAsAnotherProcess());
	const first = api.run(scrape, urls(60, 'stall'), { executionId: 'exec-stall', workflowId });
	while (!processedData.rows.has(lockKey)) await sleepMs(1);
	const others = [
		api.run(scrape, urls(60, 'stall'), {
			executionId: 'exec-stall',
			workflowId,
			onError: 'continueErrorOutput',
			nodeTypes: processes[0],
		}),
		api.run(scrape, urls(60, 'stall-b'), {
			executionId: 'exec-stall-b',
			workflowId,
			nodeTypes: processes[1],
		}),
		api.run(scrape, urls(60, 'stall-c'), {
			executionId: 'exec-stall-c',
			workflowId,
			nodeTypes: processes[2],
		}),
	];
	await sleepMs(30);
	// The database stops answering for 16 s: past the 10 s after which a lock seen held (with prompt
	// answers) counts as stale, and past the 15 s after which a waiter used to stop using the lock.
	processedData.freeze(16_000);
	const [a, b, c, d] = await Promise.all([first, ...others]);
	processedData.gapMs = 0;
	const sent = api.sim
		.requests('scrape')
		.map((entry) => (entry.body as { website_url: string }).website_url);
	expect(new Set(sent).size).toBe(sent.length);
	expect(sent).toHaveLength(180);
	// The second attempt (Continue On Fail) handles every item: scraped, or refused as sent by the
	// other. The first stops at the first item the second claimed first, if any, with that item's
	// error (without Continue On Fail): either way no page was sent twice.
	expect((b.outputs[0]?.length ?? 0) + (b.outputs[1]?.length ?? 0)).toBe(60);
	if (a.status === 'success') expect(a.outputs[0]).toHaveLength(60);
	else expect(String(a.error?.message)).toMatch(/earlier attempt/);
	expect(c.outputs[0]).toHaveLength(60);
	expect(d.outputs[0]).toHaveLength(60);
	const lockLines = logLines.filter((line) => /processed_data lock|recording without/.test(line));
	expect(lockLines).toEqual([]);
	expect(processedData.rows.has(lockKey)).toBe(false);
}, 90_000);
