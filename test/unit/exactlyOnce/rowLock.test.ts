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
import { nodeContextOn, ProcessedDataTable } from '../../harness/processedData';

/** A node's context whose lock-row (workflow scope) calls first meet `script`'s errors, in order. */
function contextWith(table: ProcessedDataTable, script: string[]): IExecuteFunctions {
	return nodeContextOn(table, (scope) => {
		const scripted = scope === 'workflow' ? script.shift() : undefined;
		if (scripted) throw new Error(scripted);
	});
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
