/**
 * batch/billedBatch.ts, the one path of every billed request, on the sources: what the budget keeps
 * or frees for each way a request ends (docs/exactly-once.md C1, C2, A5), what the record decides
 * before the send (B3, B4), and a refusal as a tool (C5). webscrape.ai's answers are scripted per
 * request; the record runs on the processed_data model.
 */
import type { INode, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { BilledRequest } from '../../../nodes/WebScrapeAi/batch/billedBatch';
import { BilledBatch } from '../../../nodes/WebScrapeAi/batch/billedBatch';
import { BilledCallRecord } from '../../../nodes/WebScrapeAi/exactlyOnce/billedCallRecord';
import type { ActionContextOptions, Answer } from '../../harness/actionContext';
import {
	actionContextOn,
	API_KEY,
	completed,
	networkError,
	queued,
	refused,
} from '../../harness/actionContext';
import { nodeContextOn, ProcessedDataTable } from '../../harness/processedData';
import { delay } from '../../harness/host';

const REPEAT = { message: (item: number) => `Item ${item} was sent before`, description: 'Look.' };
const DISPATCH: BilledRequest = {
	method: 'POST',
	path: '/smartbrowse/recipes/r1/runs',
	kind: 'dispatch',
	subject: { kind: 'recipe', id: 'r1' },
};
const SCRAPE: BilledRequest = {
	method: 'POST',
	path: '/scrape',
	kind: 'write',
	body: { url: 'x' },
};

function batchOf(
	answers: Array<Answer | Error>,
	settings: ActionContextOptions & {
		table?: ProcessedDataTable;
		items?: number;
		what?: 'run' | 'page';
	} = {},
) {
	const table = settings.table ?? new ProcessedDataTable();
	const { context, requests, hints } = actionContextOn(table, {
		options: { maxCredits: 10 },
		...settings,
		answer: (_request, index) => {
			const answer = answers[index];
			if (answer === undefined) throw new Error(`request ${index} was not expected`);
			if (answer instanceof Error) throw answer;
			return answer;
		},
	});
	const batch = new BilledBatch(context, {
		operation: 'recipe.run',
		what: settings.what ?? 'run',
		repeatText: REPEAT,
		itemCount: settings.items ?? 4,
		firstItem: 0,
		concurrency: 2,
	});
	const wait = (itemIndex: number) => ({
		itemIndex,
		deadline: Date.now() + 5_000,
		timeoutMs: 5_000,
		what: 'start the run',
		unit: 'runs in progress',
	});
	const send = async (
		itemIndex: number,
		request: BilledRequest,
		worst: number,
		then: Parameters<BilledBatch['send']>[1] = async () => [{ json: {} }],
		stop?: AbortSignal,
		withinMs = 5_000,
	) =>
		await batch.send(
			{ request, wait: { ...wait(itemIndex), stop, deadline: Date.now() + withinMs }, worst },
			then,
		);
	return { batch, send, requests, hints, table };
}

/** What the node's error says of the batch's other requests when item 9 stops it. */
const stoppedNote = (batch: BilledBatch) =>
	batch.account.stopped(new NodeOperationError({ name: 'WebScrape AI' } as INode, 'x'), 9)
		.description;

/** Item 1 (worst case 5), sent with the batch's stop signal and a long deadline. */
const batchOfWait = (send: ReturnType<typeof batchOf>['send'], stop: AbortSignal) =>
	send(1, SCRAPE, 5, undefined, stop);

const messageOf = async (promise: Promise<unknown>) =>
	await promise.then(
		() => 'no error',
		(error: Error) => error.message,
	);

test('C2: a dispatch whose answer was lost keeps its worst case: the next item does not fit Max Credits, and the lost one is not sent again (B1)', async () => {
	const { batch, send, requests } = batchOf([networkError('ECONNRESET'), queued('run2')]);
	expect(await messageOf(send(0, DISPATCH, 10))).toBe(
		'The run of recipe "r1" may have started, but webscrape.ai\'s answer was lost',
	);
	expect(batch.budget.total).toBe(10);
	expect(await messageOf(send(1, DISPATCH, 1))).toBe(
		'Budget of 10 credits for this execution reached: spent 10; this request could cost up to 1, so it was not sent [item 1]',
	);
	expect(requests).toHaveLength(1);
	expect(stoppedNote(batch)).toBe(
		'This execution also sent 1 other request that webscrape.ai may bill: may have started a run, its answer lost (item 0). Fetch them with Run → Get (or find them on the webscrape.ai dashboard) instead of running these items again, or turn on "Continue (using error output)" so one failing item does not stop the others.',
	);
});

test('A2: a page whose answer was lost is named as maybe billed when the batch stops', async () => {
	const { batch, send } = batchOf([networkError('ECONNRESET')], { what: 'page' });
	expect(await messageOf(send(0, SCRAPE, 5))).toBe(
		'webscrape.ai may have processed the request, but its answer was lost',
	);
	expect(batch.budget.total).toBe(5);
	expect(stoppedNote(batch)).toMatch(
		/^This execution also sent 1 other request that webscrape.ai may bill: may have been billed, its answer lost \(item 0\)\./,
	);
});

test('C2: a refused request billed nothing: its reservation is free again and the next item is sent', async () => {
	const { batch, send, requests } = batchOf([
		refused(400, 'invalid_request', 'bad input'),
		queued('run2'),
	]);
	expect(await messageOf(send(0, DISPATCH, 10))).not.toBe('no error');
	expect(batch.budget.total).toBe(0);
	await send(1, DISPATCH, 10);
	expect(requests).toHaveLength(2);
});

test('C2: a page answered with its cost settles at that cost, not its worst case', async () => {
	const { batch, send } = batchOf([completed({ markdown: '#' }, { used: 3, remaining: 90 })]);
	expect(await send(0, SCRAPE, 5)).toEqual([{ json: {} }]);
	expect(batch.budget.total).toBe(3);
});

test("C2: a dispatch keeps its worst case until its run's end says what it cost", async () => {
	const { batch, send } = batchOf([queued('run1')]);
	const during: number[] = [];
	await send(0, DISPATCH, 8, async (answer, runCost) => {
		expect(answer.data.run_id).toBe('run1');
		during.push(batch.budget.total);
		runCost.ended(2, 50);
		during.push(batch.budget.total);
		return [];
	});
	expect(during).toEqual([8, 2]);
	expect(batch.budget.total).toBe(2);
	expect(stoppedNote(batch)).toMatch(/may bill: started run run1 \(item 0\)\./);
});

test('a dispatch answered without a run ID is named as a started run, without an ID', async () => {
	const { batch, send } = batchOf([completed({ status: 'queued' })]);
	await send(0, DISPATCH, 1, async () => []);
	expect(stoppedNote(batch)).toMatch(/may bill: started a run \(item 0\)\./);
});

test('C3: opening a second attempt of the execution counts what the first may have spent', async () => {
	const table = new ProcessedDataTable();
	await new BilledCallRecord(nodeContextOn(table), 'recipe.run', REPEAT, 4).earlierAttempt();
	const { batch } = batchOf([], { table, options: { maxCredits: 20 } });
	await batch.open([3, 3, 3, 3]);
	expect(batch.budget.total).toBe(12);
});

test('C1: an item whose wait for the budget outlasts its Timeout is refused in words, and not sent', async () => {
	const { send, requests } = batchOf([queued('run1'), completed({}, { used: 1 })]);
	let answered!: () => void;
	const first = send(0, DISPATCH, 8, async () => {
		await new Promise<void>((resolve) => (answered = resolve));
		return [];
	});
	expect(await messageOf(send(1, SCRAPE, 5, undefined, undefined, 30))).toBe(
		'Budget of 10 credits for this execution reached: spent 0, and 8 set aside for requests in progress; this request could cost up to 5, so it was not sent [item 1]',
	);
	expect(requests).toHaveLength(1);
	answered();
	await first;
});

test('a batch stopped while an item waits for the budget ends that wait quietly', async () => {
	const { send } = batchOf([queued('run1')]);
	let answered!: () => void;
	const first = send(0, DISPATCH, 8, async () => {
		await new Promise<void>((resolve) => (answered = resolve));
		return [];
	});
	const stop = new AbortController();
	const waiting = batchOfWait(send, stop.signal);
	await delay(5);
	stop.abort();
	expect(await messageOf(waiting)).toBe('stopped');
	answered();
	await first;
});

test('A5: a run not waited for (its end never said) counts its worst case as spent', async () => {
	const { batch, send } = batchOf([queued('run1'), queued('run2')]);
	await send(0, DISPATCH, 6, async () => []);
	expect(batch.budget.total).toBe(6);
	expect(await messageOf(send(1, DISPATCH, 6))).toMatch(/^Budget of 10 credits .* spent 6;/);
});

test('A5: a wait that fails after the dispatch keeps the worst case (the run may go on and bill)', async () => {
	const { batch, send } = batchOf([queued('run1')]);
	const waitFailed = send(0, DISPATCH, 7, async () => {
		throw new Error('the wait timed out');
	});
	expect(await messageOf(waitFailed)).toBe('the wait timed out');
	expect(batch.budget.total).toBe(7);
});

test('B3: an item an earlier attempt of the execution claimed is not sent; it says so and keeps its worst case', async () => {
	const table = new ProcessedDataTable();
	const earlier = new BilledCallRecord(nodeContextOn(table), 'recipe.run', REPEAT, 4);
	expect(await earlier.claim(0)).toBe('first');
	const { batch, send, requests } = batchOf([queued('run1')], { table });
	expect(await messageOf(send(0, DISPATCH, 4))).toBe('Item 0 was sent before [item 0]');
	const withoutBudget = batchOf([queued('run1')], { table, options: {} });
	expect(await messageOf(withoutBudget.send(0, DISPATCH, 4))).toBe(
		'Item 0 was sent before [item 0]',
	);
	expect(requests).toHaveLength(0);
	expect(batch.budget.total).toBe(4);
	expect(
		batch.account.stopped(new NodeOperationError({ name: 'WebScrape AI' } as INode, 'x'), 1)
			.description,
	).toMatch(/sent by an earlier attempt of this execution \(item 0\)/);
});

test('B4: a claim n8n cannot write sends nothing and frees the reservation', async () => {
	const table = new ProcessedDataTable();
	table.failCalls = 1_000;
	const { batch, send, requests } = batchOf([queued('run1')], { table });
	expect(await messageOf(send(0, DISPATCH, 4))).toBe(
		"Could not record the request in n8n's database, so it was not sent [item 0]",
	);
	expect(requests).toHaveLength(0);
	expect(batch.budget.total).toBe(0);
});

test('C1: a request whose worst case cannot fit is not sent; the item says why', async () => {
	const { send, requests } = batchOf([queued('run1')]);
	expect(await messageOf(send(0, DISPATCH, 11))).toBe(
		'Budget of 10 credits for this execution reached: spent 0; this request could cost up to 11, so it was not sent [item 0]',
	);
	expect(requests).toHaveLength(0);
});

test('C1: without Max Credits or Keep at Least nothing is reserved or counted', async () => {
	const { batch, send, requests } = batchOf([queued('run1')], { options: {} });
	await send(0, DISPATCH, 1_000, async (_answer, runCost) => {
		runCost.ended(3);
		return [];
	});
	expect(requests).toHaveLength(1);
	expect(batch.budget.total).toBe(0);
});

test('C1: an item waiting for the budget goes once an answer frees what it needs', async () => {
	const { batch, send, requests } = batchOf([queued('run1'), completed({}, { used: 1 })]);
	let answered!: () => void;
	const first = send(0, DISPATCH, 8, async (_answer, runCost) => {
		await new Promise<void>((resolve) => (answered = resolve));
		runCost.ended(1);
		return [];
	});
	const second = send(1, SCRAPE, 8);
	await delay(0);
	expect(requests).toHaveLength(1);
	answered();
	await first;
	await second;
	expect(requests).toHaveLength(2);
	expect(batch.budget.total).toBe(2);
});

test('C5: as a tool, a refused call is an answer the model can act on, not an error; nothing is sent', async () => {
	const { send, requests } = batchOf([queued('run1')], {
		nodeType: 'n8n-nodes-webscrape-ai.webScrapeAiTool',
		executionId: 'exec-c5',
	});
	const answer = (await send(0, DISPATCH, 11)) as INodeExecutionData[];
	expect(requests).toHaveLength(0);
	expect(JSON.stringify(answer)).toMatch(/was not sent and nothing was billed for it/);
});

test('the batch tells the output pane what it spent, with the cap', async () => {
	const { batch, send, hints } = batchOf([completed({}, { used: 3 })]);
	await batch.open([5]);
	const output = await batch.run([undefined], async (item) => await send(item, SCRAPE, 5));
	expect(output).toHaveLength(1);
	expect(hints).toEqual([
		'Spent 3 credits of the 10 allowed in this execution (worst cases of requests whose cost is not known yet included).',
	]);
});

test('the key never appears in what a failed request throws', async () => {
	const leak = refused(400, 'invalid_request', `bad key ${API_KEY}`);
	const { send } = batchOf([leak]);
	const error = await send(0, DISPATCH, 1).catch((thrown: unknown) => thrown);
	expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(API_KEY);
});
