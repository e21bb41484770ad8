/**
 * exactlyOnce/rowLock.ts on the model of n8n's processed_data table: docs/exactly-once.md's L2 (a
 * duplicate-key refusal means another process just took the lock: keep waiting) and L5 (failing
 * checks fail the record, never a record without the lock), deterministically: the collisions and
 * failures are scripted, not raced.
 */
import type { IExecuteFunctions } from 'n8n-workflow';

import {
	FAILED_CHECKS_PER_TRY,
	withProcessedDataLock,
} from '../../../nodes/WebScrapeAi/exactlyOnce/rowLock';
import { ProcessedDataTable } from '../../harness/processedData';

/** A node's context whose lock-row (workflow scope) calls first meet `script`'s errors, in order. */
function contextWith(table: ProcessedDataTable, script: string[]): IExecuteFunctions {
	const contextData = { workflow: { id: 'wf1' }, node: { id: 'node1' } } as never;
	return {
		getWorkflow: () => ({ id: 'wf1' }),
		getNode: () => ({ id: 'node1', name: 'WebScrape AI', type: 'x.webScrapeAi' }),
		logger: { debug() {}, info() {}, warn() {}, error() {} },
		helpers: {
			checkProcessedAndRecord: async (
				items: string[],
				scope: 'node' | 'workflow',
				options: never,
			) => {
				const scripted = scope === 'workflow' ? script.shift() : undefined;
				if (scripted) throw new Error(scripted);
				return await table.checkProcessedAndRecord(items, scope, contextData, options);
			},
			clearAllProcessedItems: async (scope: 'node' | 'workflow') =>
				await table.clearAllProcessedItems(scope, contextData),
		},
	} as unknown as IExecuteFunctions;
}

const DUPLICATE = 'duplicate key value violates unique constraint "PK_processed_data"';

test(`L2: ${FAILED_CHECKS_PER_TRY + 3} duplicate-key refusals in a row (another process took the lock each time): it keeps waiting, then records under the lock`, async () => {
	const table = new ProcessedDataTable();
	const script = Array.from({ length: FAILED_CHECKS_PER_TRY + 3 }, () => DUPLICATE);
	const locked = await withProcessedDataLock(contextWith(table, script), async (held) => held);
	expect(locked).toBe(true);
	expect(script).toEqual([]);
});

test(`L5: ${FAILED_CHECKS_PER_TRY} failed lock checks in a row fail the try; the task never runs without the lock`, async () => {
	const table = new ProcessedDataTable();
	const script = Array.from(
		{ length: FAILED_CHECKS_PER_TRY },
		() => 'Connection terminated unexpectedly',
	);
	const task = jest.fn(async () => true);
	await expect(withProcessedDataLock(contextWith(table, script), task)).rejects.toThrow(
		"n8n's database failed five lock checks in a row",
	);
	expect(task).not.toHaveBeenCalled();
});

test(`L5: ${FAILED_CHECKS_PER_TRY - 1} failures, then an answer: the lock is taken and the task runs under it`, async () => {
	const table = new ProcessedDataTable();
	const script = Array.from(
		{ length: FAILED_CHECKS_PER_TRY - 1 },
		() => 'Connection terminated unexpectedly',
	);
	await expect(
		withProcessedDataLock(contextWith(table, script), async (held) => held),
	).resolves.toBe(true);
});
