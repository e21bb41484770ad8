import type { IExecuteFunctions, INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import type { ApiCall, ApiEnvelope } from '../transport';
import { apiRequest, cancelSignalOf, isOutcomeUnknown, throwIfStopped } from '../transport';
import type { ItemOutcome } from './batch';
import { executeBatch } from './batch';
import { BilledRequests } from './billedRequests';
import type { CreditBudget, Reservation } from '../budget/creditBudget';
import { budgetFor, BudgetRefusal, openBudget, reportSpent } from '../budget/creditBudget';
import type { BusyRefusal, SlotWait } from '../transport/planLimits';
import { PlanSlots, withPlanSlot } from '../transport/planLimits';
import type { RepeatText } from '../exactlyOnce/billedCallRecord';
import { BilledCallRecord } from '../exactlyOnce/billedCallRecord';
import { budgetAnswer, runsAsTool } from '../core/asTool';

/** What a billed request sends; the item, its deadline and stop signal come from the slot wait. */
export type BilledRequest = Pick<ApiCall, 'method' | 'path' | 'body' | 'kind' | 'subject'>;

/** One billed call: what is sent, how its item waits for the plan, and its worst case in credits. */
export type BilledCall = { request: BilledRequest; wait: SlotWait; worst: number };

/** What a run's cost is once it has ended (a dispatch answer says nothing of it). */
export interface RunCost {
	/** The run ended: what it cost (failed and cancelled runs cost nothing). */
	ended(used: unknown, remaining?: unknown): void;
}

export interface BilledBatchOptions {
	/** The operation in the record's keys: 'recipe.run', '/scrape', '/smartscraper' (never change). */
	operation: string;
	/** What one request is, in the words of the batch's error. */
	what: 'run' | 'page';
	/** What an item an earlier attempt of the execution claimed says. */
	repeatText: RepeatText;
	itemCount: number;
	/** Batch-wide settings come from this item (the first valid one). */
	firstItem: number;
	concurrency: number;
}

/**
 * One node run's billed requests (Recipe → Run, Page → Scrape, Page → Extract): it owns the
 * budget, the record in n8n's database, the plan's slots and the account of what each request came
 * to, and `send` is the one path of every billed request. Open it before anything is sent, run the
 * items through it, and it reports what was spent when they are done.
 */
export class BilledBatch {
	readonly budget: CreditBudget;
	readonly record: BilledCallRecord;
	readonly slots: PlanSlots;
	readonly account: BilledRequests;

	constructor(
		private readonly context: IExecuteFunctions,
		private readonly options: BilledBatchOptions,
	) {
		this.budget = budgetFor(context, options.firstItem);
		this.record = new BilledCallRecord(
			context,
			options.operation,
			options.repeatText,
			options.itemCount,
		);
		this.slots = new PlanSlots(options.concurrency);
		this.account = new BilledRequests(options.what);
	}

	/**
	 * Before anything is sent: Keep at Least learns the balance (from `usage` when the caller read
	 * it already), and a second attempt of the execution counts what the first may have spent.
	 */
	async open(worstCases: number[], usage?: ApiEnvelope): Promise<void> {
		await openBudget(this.context, this.budget, this.record, worstCases, usage);
	}

	/**
	 * Runs `task` for each item without an outcome yet, Concurrency at a time (batch.ts), and says in
	 * the output pane what was spent.
	 */
	async run(
		outcomes: Array<ItemOutcome | undefined>,
		task: (itemIndex: number, stop: AbortSignal) => Promise<INodeExecutionData[]>,
	): Promise<INodeExecutionData[]> {
		const output = await executeBatch.call(this.context, outcomes, task, {
			concurrency: this.options.concurrency,
			billed: this.account,
			record: this.record,
		});
		reportSpent(this.context, this.budget);
		return output;
	}

	/**
	 * The one path of every billed request: it sets the call's worst case aside in the budget, holds
	 * one of the plan's slots, claims the call in n8n's database right before it is first sent (so a
	 * second attempt of the execution never sends it again: docs/exactly-once.md, B3), confirms the
	 * claim once answered, and tells the account what the call came to (A1). `then` runs while the
	 * slot is still held: a waited-for run keeps it until it ends, and says through `runCost` what
	 * the run cost (until then, or if it never says, the worst case stays). A call the budget refuses
	 * is an error in words; as a tool, a plain answer the model can act on (an error would make an
	 * agent try again).
	 */
	async send(
		call: BilledCall,
		then: (answer: ApiEnvelope, runCost: RunCost) => Promise<INodeExecutionData[]>,
	): Promise<INodeExecutionData[]> {
		try {
			return await this.sendWithinBudget(call, then);
		} catch (error) {
			if (error instanceof BudgetRefusal && runsAsTool(this.context)) return budgetAnswer(error);
			// Already in words: the transport and the record throw NodeApiError or NodeOperationError.
			throw error as NodeOperationError;
		}
	}

	private async sendWithinBudget(
		call: BilledCall,
		then: (answer: ApiEnvelope, runCost: RunCost) => Promise<INodeExecutionData[]>,
	): Promise<INodeExecutionData[]> {
		const { context, slots } = this;
		const budget = this.budget.active ? this.budget : undefined;
		const reservation = budget && (await this.reserve(budget, call.wait, call.worst));
		try {
			return await withPlanSlot(context, slots, call.wait, async (onBusy, accepted) => {
				const answer = await this.sendOnce(call, onBusy, reservation);
				accepted();
				return await this.answered(call, answer, reservation, then);
			});
		} finally {
			// Whatever ended the call before it was sent, or refused it, billed nothing (a call that may
			// have been billed kept its worst case): the reservation is free again.
			if (reservation && !reservation.settled) budget?.release(reservation);
		}
	}

	/**
	 * Sets the call's worst case aside before it takes a slot of the plan: an item waiting for the
	 * budget must not hold a slot that the request it waits for needs in order to be answered (a
	 * 429 busy retry).
	 */
	private async reserve(budget: CreditBudget, wait: SlotWait, worst: number): Promise<Reservation> {
		const { context } = this;
		const node = context.getNode();
		const { itemIndex, deadline, stop } = wait;
		budget.refuseIfHopeless(node, itemIndex, worst);
		const signals = [cancelSignalOf(context), stop];
		try {
			return await budget.reserve(node, itemIndex, worst, { deadline, signals });
		} catch (error) {
			throwIfStopped(context, stop);
			throw error as NodeOperationError;
		}
	}

	/**
	 * Sends the request through the transport, claiming it right before the first send, after the
	 * plan's waits (docs/exactly-once.md, B3). A call that may have been billed keeps its worst case.
	 */
	private async sendOnce(
		call: Omit<BilledCall, 'worst'>,
		onBusy: (refusal: BusyRefusal) => Promise<void>,
		reservation: Reservation | undefined,
	): Promise<ApiEnvelope> {
		const { context, record, account, budget } = this;
		const { itemIndex, deadline, stop } = call.wait;
		try {
			return await apiRequest.call(context, {
				...call.request,
				itemIndex,
				deadline,
				stop,
				onBusy,
				beforeFirstSend: async () => {
					if ((await record.claim(itemIndex)) === 'claimed-before') {
						// An earlier attempt of this execution may have sent (and been billed for) it.
						if (reservation) budget.keep(reservation);
						account.sentEarlier(itemIndex);
						throw record.repeatError(itemIndex);
					}
					account.leaving(itemIndex);
				},
			});
		} catch (error) {
			account.failed(itemIndex, error);
			if (reservation && isOutcomeUnknown(error)) budget.keep(reservation);
			// Already in words: the transport and the record throw NodeApiError or NodeOperationError.
			throw error as NodeOperationError;
		}
	}

	/**
	 * An answered call: the account learns it, the claim is confirmed, a page's answer settles its
	 * cost, and `then` runs; a run's cost settles when `then` says it ended (A5: until then, or if it
	 * never says, the worst case stays).
	 */
	private async answered(
		call: Omit<BilledCall, 'worst'>,
		answer: ApiEnvelope,
		reservation: Reservation | undefined,
		then: (answer: ApiEnvelope, runCost: RunCost) => Promise<INodeExecutionData[]>,
	): Promise<INodeExecutionData[]> {
		const { record, account, budget } = this;
		const { itemIndex } = call.wait;
		const dispatch = call.request.kind === 'dispatch';
		account.answered(itemIndex, dispatch ? String(answer.data.run_id ?? '') : undefined);
		await record.confirm(itemIndex);
		if (reservation && !dispatch)
			budget.settle(reservation, answer.credits_used, answer.credits_remaining);
		try {
			return await then(answer, {
				ended: (used, remaining) => {
					if (reservation) budget.settle(reservation, used, remaining);
				},
			});
		} finally {
			// A run not waited for (or whose wait failed) may still cost its worst case: it is
			// counted as spent, so items the budget cannot fit are refused now, not at their Timeout.
			if (reservation && !reservation.settled) budget.keep(reservation);
		}
	}
}
