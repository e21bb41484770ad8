import type { IExecuteFunctions, INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import type { ApiCall, ApiEnvelope } from '../transport';
import { apiRequest, cancelSignalOf, isOutcomeUnknown, throwIfStopped } from '../transport';
import type { BilledRequests } from './billedRequests';
import type { CreditBudget, Reservation } from './creditBudget';
import { budgetAnswer, BudgetRefusal } from './creditBudget';
import type { PlanSlots, SlotWait } from './planSlots';
import { withPlanSlot } from './planSlots';
import type { DispatchRecord } from './processedRecord';
import { runsAsTool } from './runs';

/** What a billed request sends; the item, its deadline and stop signal come from the slot wait. */
export type BilledRequest = Pick<ApiCall, 'method' | 'path' | 'body' | 'kind' | 'subject'>;

/** What a run's cost is once it has ended (a dispatch answer says nothing of it). */
export interface RunCost {
	/** The run ended: what it cost (failed and cancelled runs cost nothing). */
	ended(used: unknown, remaining?: unknown): void;
}

export interface BilledCall {
	request: BilledRequest;
	slots: PlanSlots;
	wait: SlotWait;
	record: DispatchRecord;
	/** The batch's account of what may be billed (what its error names if it stops). */
	billed: BilledRequests;
	/** The node run's budget, and the call's highest possible cost in credits. */
	budget?: CreditBudget;
	worst?: number;
}

/**
 * The one path of every billed request (a recipe dispatch, a scrape, an extraction): it sets the
 * call's worst case aside in the node run's budget, holds one of the plan's slots, claims the call
 * in n8n's database right before it is first sent (so a second attempt of the execution never
 * sends it again: docs/exactly-once.md, B3), confirms the claim once answered, and tells the
 * batch's account what the call came to (A1). `then` runs while the slot is still held: a waited-for run keeps it until it ends, and
 * says through `runCost` what the run cost (until then, or if it never says, the worst case stays).
 * A call the budget refuses is an error in words; as a tool, a plain answer the model can act on
 * (an error would make an agent try again).
 */
export async function sendBilledCall(
	context: IExecuteFunctions,
	billed: BilledCall,
	then: (answer: ApiEnvelope, runCost: RunCost) => Promise<INodeExecutionData[]>,
): Promise<INodeExecutionData[]> {
	try {
		return await sendWithinBudget(context, billed, then);
	} catch (error) {
		if (error instanceof BudgetRefusal && runsAsTool(context)) return budgetAnswer(error);
		// Already in words: the transport and the record throw NodeApiError or NodeOperationError.
		throw error as NodeOperationError;
	}
}

async function sendWithinBudget(
	context: IExecuteFunctions,
	billed: BilledCall,
	then: (answer: ApiEnvelope, runCost: RunCost) => Promise<INodeExecutionData[]>,
): Promise<INodeExecutionData[]> {
	const { request, slots, wait, record, budget, billed: account } = billed;
	const { itemIndex, deadline, stop } = wait;
	const node = context.getNode();
	let reservation: Reservation | undefined;
	if (budget?.active) {
		const worst = billed.worst ?? 0;
		budget.refuseIfHopeless(node, itemIndex, worst);
		// Set aside before taking a slot of the plan: an item waiting for the budget must not hold a
		// slot that the request it waits for needs in order to be answered (a 429 busy retry).
		const signals = [cancelSignalOf(context), stop];
		try {
			reservation = await budget.reserve(node, itemIndex, worst, { deadline, signals });
		} catch (error) {
			throwIfStopped(context, stop);
			throw error as NodeOperationError;
		}
	}
	try {
		return await withPlanSlot(context, slots, wait, async (onBusy, accepted) => {
			let answer: ApiEnvelope;
			try {
				answer = await apiRequest.call(context, {
					...request,
					itemIndex,
					deadline,
					stop,
					onBusy,
					// Claimed right before the first send, after the plan's waits (docs/exactly-once.md, B3).
					beforeFirstSend: async () => {
						if ((await record.claim(itemIndex)) === 'claimed-before') {
							// An earlier attempt of this execution may have sent (and been billed for) it.
							if (reservation) budget?.keep(reservation);
							account.sentEarlier(itemIndex);
							throw record.repeatError(itemIndex);
						}
						account.leaving(itemIndex);
					},
				});
			} catch (error) {
				account.failed(itemIndex, error);
				if (reservation && isOutcomeUnknown(error)) budget?.keep(reservation);
				// Already in words: the transport and the record throw NodeApiError or NodeOperationError.
				throw error as NodeOperationError;
			}
			account.answered(
				itemIndex,
				request.kind === 'dispatch' ? String(answer.data.run_id ?? '') : undefined,
			);
			accepted();
			await record.confirm(itemIndex);
			if (reservation && budget && request.kind !== 'dispatch')
				budget.settle(reservation, answer.credits_used, answer.credits_remaining);
			const held = reservation;
			try {
				return await then(answer, {
					ended: (used, remaining) => {
						if (held) budget?.settle(held, used, remaining);
					},
				});
			} finally {
				// A run not waited for (or whose wait failed) may still cost its worst case: it is
				// counted as spent, so items the budget cannot fit are refused now, not at their Timeout.
				if (held && !held.settled) budget?.keep(held);
			}
		});
	} finally {
		// Whatever ended the call before it was sent, or refused it, billed nothing (a call that may
		// have been billed kept its worst case above): the reservation is free again.
		if (reservation && !reservation.settled) budget?.release(reservation);
	}
}
