/**
 * A model of n8n's `processed_data` table, as n8n's database-backed deduplicator keeps it: what the
 * engine tests hand n8n-core's DataDeduplicationService, and what the unit tests of exactlyOnce/
 * drive directly, crash points included. Imports only n8n-workflow's types.
 */
import { createHash } from 'node:crypto';

import type {
	DeduplicationItemTypes,
	ICheckProcessedContextData,
	ICheckProcessedOptions,
	IDataDeduplicator,
	IDeduplicationOutput,
	IExecuteFunctions,
} from 'n8n-workflow';

import { delay } from './host';

type ProcessedRow = { mode: string; data: string[] | string };

/** n8n's DeduplicationError text when a row was saved in another mode. */
const INCOMPATIBLE_MODE =
	'Deduplication data was originally saved with an incompatible setting of the ‘Keep Items Where’ parameter. Try ’Clean Database’ operation to reset.';

/**
 * n8n's `processed_data` table as n8n's own database-backed deduplicator keeps it
 * (packages/cli/src/deduplication/deduplication-helper.ts, the same in 1.123 and 2.41): one row per
 * workflow and context (`n:<node id>` or '' for the workflow scope), primary key (workflowId,
 * context); a call reads the row, refuses a row saved in another mode, inserts a missing row (a
 * duplicate key fails, as the database would) or writes the whole row back. "entries" keeps md5
 * hashes, the oldest dropped past maxEntries; the "latest" modes keep the largest value. Read and
 * write are separate steps (`gapMs` apart when set, as a database's round trips are), so concurrent
 * callers can lose each other's values exactly as with n8n's table; n8n-core's DataDeduplicationService (real) calls it.
 */
export class ProcessedDataTable implements IDataDeduplicator {
	readonly rows = new Map<string, ProcessedRow>();
	writes = 0;
	/** The next this many calls fail as a database error would. */
	failCalls = 0;
	/** Time between a call's read and its write (0: a microtask). */
	gapMs = 0;
	/** Every statement started before this time waits until it (a stalled database). */
	frozenUntil = 0;
	/** The largest value a row may hold (MySQL/MariaDB keep it in TEXT: 65,535 bytes); 0: none. */
	maxValueBytes = 0;
	/** The largest row value written, in bytes, per row key. */
	readonly largestBytes = new Map<string, number>();
	/** Bytes of row values written, per row key (what a database writes, before its overhead). */
	readonly bytesWritten = new Map<string, number>();

	/** Freezes the database for `ms` from now: statements in flight or started meanwhile wait. */
	freeze(ms: number): void {
		this.frozenUntil = Date.now() + ms;
	}

	private async thawed(): Promise<void> {
		while (Date.now() < this.frozenUntil) await delay(this.frozenUntil - Date.now());
	}

	/** Writes a row value as the database would: refused past maxValueBytes, counted otherwise. */
	private store(key: string, row: ProcessedRow): void {
		const bytes = Buffer.byteLength(JSON.stringify(row));
		if (this.maxValueBytes > 0 && bytes > this.maxValueBytes)
			throw new Error(`ER_DATA_TOO_LONG: Data too long for column 'value' at row 1`);
		this.rows.set(key, row);
		this.writes++;
		this.largestBytes.set(key, Math.max(this.largestBytes.get(key) ?? 0, bytes));
		this.bytesWritten.set(key, (this.bytesWritten.get(key) ?? 0) + bytes);
	}

	key(scope: string, contextData: ICheckProcessedContextData): string {
		if (!contextData.workflow.id) throw new Error('deduplication without a workflow id');
		return `${contextData.workflow.id}|${scope === 'node' ? `n:${contextData.node?.id}` : ''}`;
	}

	static hash(value: DeduplicationItemTypes): string {
		return createHash('md5').update(String(value)).digest('base64');
	}

	private async between(): Promise<void> {
		if (this.gapMs > 0) await delay(this.gapMs);
		else await Promise.resolve();
		await this.thawed();
	}

	private static compare(mode: string, a: DeduplicationItemTypes, b: DeduplicationItemTypes) {
		const value = (item: DeduplicationItemTypes) =>
			mode === 'latestDate' ? Date.parse(String(item)) : Number(item);
		return Math.sign(value(a) - value(b));
	}

	async checkProcessedAndRecord(
		items: DeduplicationItemTypes[],
		scope: 'node' | 'workflow',
		contextData: ICheckProcessedContextData,
		options: ICheckProcessedOptions,
	): Promise<IDeduplicationOutput> {
		const key = this.key(scope, contextData);
		await this.thawed();
		if (this.failCalls > 0) {
			this.failCalls--;
			throw new Error('Connection terminated unexpectedly');
		}
		const read = this.rows.get(key);
		// What the database hands back: a copy, which this call changes and writes back whole.
		const row: ProcessedRow | undefined = read && {
			mode: read.mode,
			data: Array.isArray(read.data) ? read.data.slice() : read.data,
		};
		if (row && row.mode !== options.mode) throw new Error(INCOMPATIBLE_MODE);
		const output: IDeduplicationOutput = { new: [], processed: [] };
		const latest = options.mode !== 'entries';
		if (!row) {
			output.new.push(...items);
			const data = latest
				? String(
						items
							.slice()
							.sort((a, b) => ProcessedDataTable.compare(options.mode, a, b))
							.pop(),
					)
				: items.map(ProcessedDataTable.hash).slice(-(options.maxEntries ?? Infinity));
			await this.between();
			if (this.rows.has(key)) throw new Error('duplicate key value violates unique constraint');
			this.store(key, { mode: options.mode, data });
			return output;
		}
		if (latest) {
			let largest = row.data as string;
			for (const item of items) {
				if (ProcessedDataTable.compare(options.mode, item, row.data as string) === 1) {
					output.new.push(item);
					if (ProcessedDataTable.compare(options.mode, item, largest) === 1) largest = String(item);
				} else output.processed.push(item);
			}
			row.data = largest;
		} else {
			const data = row.data as string[];
			const known = new Set(data);
			for (const item of items) {
				const hash = ProcessedDataTable.hash(item);
				if (known.has(hash)) output.processed.push(item);
				else {
					output.new.push(item);
					data.push(hash);
				}
			}
			if (options.maxEntries) data.splice(0, Math.max(0, data.length - options.maxEntries));
		}
		await this.between();
		// An update: no row (deleted meanwhile) means nothing is written.
		if (this.rows.has(key)) this.store(key, row);
		return output;
	}

	async removeProcessed(
		items: DeduplicationItemTypes[],
		scope: 'node' | 'workflow',
		contextData: ICheckProcessedContextData,
	): Promise<void> {
		const key = this.key(scope, contextData);
		await this.thawed();
		const read = this.rows.get(key);
		if (!read || !Array.isArray(read.data)) return;
		const data = read.data.slice();
		for (const item of items) {
			const index = data.indexOf(ProcessedDataTable.hash(item));
			if (index >= 0) data.splice(index, 1);
		}
		await this.between();
		if (this.rows.has(key)) this.store(key, { mode: read.mode, data });
	}

	async clearAllProcessedItems(
		scope: 'node' | 'workflow',
		contextData: ICheckProcessedContextData,
	): Promise<void> {
		await this.thawed();
		this.rows.delete(this.key(scope, contextData));
	}

	async getProcessedDataCount(
		scope: 'node' | 'workflow',
		contextData: ICheckProcessedContextData,
	): Promise<number> {
		const data = this.rows.get(this.key(scope, contextData))?.data;
		return Array.isArray(data) ? data.length : 0;
	}
}

/**
 * The context n8n hands a node of workflow `wf1` (node `node1`, execution `exec1`; `ids` changes
 * them, and gives the node's run index) whose processed-data helpers are this table's. `before(scope)` runs before each helper call of that
 * scope ('node': the claims row, 'workflow': the lock row); what it throws, the call throws (a
 * worker that died, a database that refused).
 */
export function nodeContextOn(
	table: ProcessedDataTable,
	before: (scope: 'node' | 'workflow') => void = () => {},
	ids: { workflowId?: string; nodeId?: string; executionId?: unknown; runIndex?: unknown } = {},
): IExecuteFunctions {
	const workflowId = ids.workflowId ?? 'wf1';
	const nodeId = ids.nodeId ?? 'node1';
	const contextData = { workflow: { id: workflowId }, node: { id: nodeId } } as never;
	return {
		runIndex: ids.runIndex,
		getWorkflow: () => ({ id: workflowId }),
		getNode: () => ({ id: nodeId, name: 'WebScrape AI', type: 'x.webScrapeAi' }),
		getExecutionId: () => ('executionId' in ids ? ids.executionId : 'exec1'),
		logger: { debug() {}, info() {}, warn() {}, error() {} },
		helpers: {
			checkProcessedAndRecord: async (
				items: string[],
				scope: 'node' | 'workflow',
				options: ICheckProcessedOptions,
			) => {
				before(scope);
				return await table.checkProcessedAndRecord(items, scope, contextData, options);
			},
			removeProcessed: async (items: string[], scope: 'node' | 'workflow') => {
				before(scope);
				await table.removeProcessed(items, scope, contextData);
			},
			clearAllProcessedItems: async (scope: 'node' | 'workflow') => {
				before(scope);
				await table.clearAllProcessedItems(scope, contextData);
			},
		},
	} as unknown as IExecuteFunctions;
}
