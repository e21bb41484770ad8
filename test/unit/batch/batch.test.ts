/**
 * batch/batch.ts on the sources: items checked before anything is sent, Concurrency at a time, the
 * output in input order, a failing item as an error item (error output on) or the node's error
 * naming what else was sent (off), and the record told as each item settles.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import {
	asNodeError,
	errorItem,
	executeBatch,
	prepareItems,
} from '../../../nodes/WebScrapeAi/batch/batch';
import { BilledRequests } from '../../../nodes/WebScrapeAi/batch/billedRequests';
import {
	BilledCallRecord,
	FOLD_STEP,
} from '../../../nodes/WebScrapeAi/exactlyOnce/billedCallRecord';
import { refusalCauseOf } from '../../../nodes/WebScrapeAi/core/validation';
import { BatchStoppedError } from '../../../nodes/WebScrapeAi/transport';
import { actionContextOn } from '../../harness/actionContext';
import { nodeContextOn, ProcessedDataTable } from '../../harness/processedData';
import { delay } from '../../harness/host';

const contextOf = (continueOnFail = false): IExecuteFunctions =>
	actionContextOn(new ProcessedDataTable(), { continueOnFail }).context;
const row = (itemIndex: number, value: number | string): INodeExecutionData => ({
	json: { value },
	pairedItem: { item: itemIndex },
});
const tick = async () => await delay(0);
/** The record of a Page → Scrape batch of `items` over n8n's processed-data table. */
const scrapeRecord = (table: ProcessedDataTable, items: number) =>
	new BilledCallRecord(nodeContextOn(table), 'scrape', { message: String, description: '' }, items);

describe('prepareItems', () => {
	test('every item prepared before anything is sent', () => {
		const seen: number[] = [];
		const { prepared, outcomes } = prepareItems(contextOf(), 3, (item) => {
			seen.push(item);
			return item * 10;
		});
		expect(prepared).toEqual([0, 10, 20]);
		expect(outcomes).toEqual([undefined, undefined, undefined]);
		expect(seen).toEqual([0, 1, 2]);
	});

	test('a bad item stops the node, marked as refused before sending (input)', () => {
		let error: unknown;
		try {
			prepareItems(contextOf(), 3, (item) => {
				if (item === 1) throw new Error('URL is missing');
				return item;
			});
		} catch (thrown) {
			error = thrown;
		}
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toBe('URL is missing');
		expect(refusalCauseOf(error)).toBe('input');
	});

	test('with the error output on, a bad item is its own error outcome and the others go on', () => {
		const { prepared, outcomes } = prepareItems(contextOf(true), 3, (item) => {
			if (item === 1) throw new Error('URL is missing');
			return item;
		});
		expect(prepared).toEqual([0, undefined, 2]);
		expect(outcomes[0]).toBeUndefined();
		expect((outcomes[1] as { error: Error }).error.message).toBe('URL is missing');
		expect(outcomes[2]).toBeUndefined();
	});
});

describe('executeBatch', () => {
	test('Concurrency at a time, the next started as one ends, the output in input order', async () => {
		let running = 0;
		let most = 0;
		const output = await executeBatch.call(
			contextOf(),
			Array(7).fill(undefined),
			async (item) => {
				running++;
				most = Math.max(most, running);
				await delay((7 - item) * 3);
				running--;
				return [row(item, item)];
			},
			{ concurrency: 3 },
		);
		expect(most).toBe(3);
		expect(output.map((item) => item.json.value)).toEqual([0, 1, 2, 3, 4, 5, 6]);
	});

	test('a Concurrency above the number of items, or of 0, still runs every item', async () => {
		for (const concurrency of [0, 50]) {
			const output = await executeBatch.call(
				contextOf(),
				[undefined, undefined],
				async (item) => [row(item, item)],
				{ concurrency },
			);
			expect(output).toHaveLength(2);
		}
	});

	test('items with an outcome already are not run again; their outcome is shown in its place', async () => {
		const ran: number[] = [];
		const error = new NodeOperationError({ name: 'n' } as never, 'Bad URL [item 1]', {
			description: 'Use a full address.',
		});
		const output = await executeBatch.call(
			contextOf(true),
			[undefined, { error }, [row(2, 'kept')]],
			async (item) => {
				ran.push(item);
				return [row(item, 'ran')];
			},
			{ concurrency: 2 },
		);
		expect(ran).toEqual([0]);
		expect(output.map((item) => item.json)).toEqual([
			{ value: 'ran' },
			{ error: 'Bad URL [item 1]', description: 'Use a full address.' },
			{ value: 'kept' },
		]);
		expect(output[1].pairedItem).toEqual({ item: 1 });
	});

	test('without the error output the first failure stops new work; those in progress end; the node fails with it, naming the rest', async () => {
		const started: number[] = [];
		const billed = new BilledRequests('page');
		const failure = executeBatch.call(
			contextOf(false),
			Array(6).fill(undefined),
			async (item, stop) => {
				started.push(item);
				if (item === 1) {
					await tick();
					throw new NodeOperationError({ name: 'n' } as never, 'Refused [item 1]');
				}
				await delay(20);
				if (stop.aborted && item === 2) throw new BatchStoppedError();
				billed.leaving(item);
				billed.answered(item);
				return [row(item, item)];
			},
			{ concurrency: 3, billed },
		);
		const error = await failure.catch((thrown: NodeOperationError) => thrown);
		expect(started).toEqual([0, 1, 2]);
		expect((error as NodeOperationError).message).toBe('Refused [item 1]');
		expect((error as NodeOperationError).description).toBe(
			'This execution also sent 1 other request that webscrape.ai may bill: billed, its result not shown (item 0). Their results are lost with this error, and running these items again pays for them again: run only the other items, or turn on "Continue (using error output)" so one failing item does not stop the others.',
		);
	});

	test('the first failure is the one thrown, wrapped when it is not an n8n error', async () => {
		const error = await executeBatch
			.call(
				contextOf(false),
				[undefined, undefined],
				async (item) => {
					throw new Error(`plain ${item}`);
				},
				{ concurrency: 2 },
			)
			.catch((thrown: NodeOperationError) => thrown);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toBe('plain 0');
	});

	test('with the error output on, every failing item is an error item explained by the account; the others go on', async () => {
		const billed = new BilledRequests('run');
		billed.answered(0, 'runA');
		const output = await executeBatch.call(
			contextOf(true),
			[undefined, undefined, undefined],
			async (item) => {
				if (item === 0) throw new Error('Could not write the file');
				if (item === 1)
					throw new NodeApiError({ name: 'n' } as never, {}, { message: 'Gone', httpCode: '404' });
				return [row(item, item)];
			},
			{ concurrency: 1, billed },
		);
		expect(output.map((item) => item.json)).toEqual([
			{
				error: 'Could not write the file',
				description:
					'Its run runA was started and goes on at webscrape.ai: fetch it with Run → Get instead of running this item again.',
			},
			{ error: 'Gone' },
			{ value: 2 },
		]);
		expect(output[1].error).toBeInstanceOf(NodeApiError);
	});

	test('a stopped item (another failed) leaves no output and no error of its own', async () => {
		const output = await executeBatch.call(
			contextOf(true),
			[undefined, undefined],
			async (item) => {
				if (item === 0) throw new BatchStoppedError();
				return [row(item, item)];
			},
			{ concurrency: 1 },
		);
		expect(output.map((item) => item.json)).toEqual([{ value: 1 }]);
	});

	test('the record is told each item as it settles, also one that ended without a claim, and folds as steps complete and at the end', async () => {
		const table = new ProcessedDataTable();
		const items = FOLD_STEP + 3;
		const record = scrapeRecord(table, items);
		const outcomes: Array<INodeExecutionData[] | { error: unknown } | undefined> =
			Array(items).fill(undefined);
		outcomes[0] = { error: new Error('refused before sending') };
		await executeBatch.call(
			contextOf(true),
			outcomes,
			async (item) => {
				// Some items end before they claim anything (refused by the budget, say).
				if (item % 5 === 2) throw new Error('refused before sending');
				await record.claim(item);
				return [row(item, item)];
			},
			{ concurrency: 4, record },
		);
		const data = table.rows.get('wf1|n:node1')?.data as string[];
		expect(data).toContain(ProcessedDataTable.hash(`exec1:0:scrape:w:${items}`));
		expect(data).toHaveLength(3);
	});
});

test('an item stopped before it was sent (another failed) is not settled: no watermark passes it, so a second attempt still sends it', async () => {
	const table = new ProcessedDataTable();
	const items = FOLD_STEP + 1;
	const record = scrapeRecord(table, items);
	await record.earlierAttempt();
	const failure = executeBatch.call(
		contextOf(false),
		Array(items).fill(undefined),
		async (item, stop) => {
			if (item === FOLD_STEP) throw new Error('refused');
			await delay(5);
			if (stop.aborted) throw new BatchStoppedError();
			return [];
		},
		{ concurrency: items, record },
	);
	await expect(failure).rejects.toThrow('refused');
	const second = scrapeRecord(table, items);
	expect(await second.claim(0)).toBe('first');
});

describe('n8n errors', () => {
	test("n8n's own errors pass through; anything else is wrapped, with its item", () => {
		const context = contextOf();
		const own = new NodeOperationError({ name: 'n' } as never, 'own');
		expect(asNodeError.call(context, own, 1)).toBe(own);
		const api = new NodeApiError({ name: 'n' } as never, {}, { message: 'api' });
		expect(asNodeError.call(context, api, 1)).toBe(api);
		const wrapped = asNodeError.call(context, new Error('plain'), 4);
		expect(wrapped).toBeInstanceOf(NodeOperationError);
		expect(wrapped.message).toBe('plain');
		expect(wrapped.context.itemIndex).toBe(4);
	});

	test('an error item: the message, the description when there is one, the error, its input item', () => {
		const context = contextOf();
		const bare = errorItem.call(context, new Error('bad'), 2);
		expect(bare.json).toEqual({ error: 'bad' });
		expect(bare.pairedItem).toEqual({ item: 2 });
		expect(bare.error).toBeInstanceOf(NodeOperationError);
	});
});
