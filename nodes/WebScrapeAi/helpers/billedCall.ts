import type { IExecuteFunctions, INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import type { ApiCall, ApiEnvelope } from '../transport';
import { apiRequest, cancelSignalOf, isOutcomeUnknown } from '../transport';
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
	/** The node run's budget, and the call's highest possible cost in credits. */
	budget?: CreditBudget;
	worst?: number;
}

/**
 * The one path of every billed request (a recipe dispatch, a scrape, an extraction): it holds one
 * of the plan's slots, sets the call's worst case aside in the node run's budget and claims the call
 * in n8n's database right before it is first sent (so it fits the budget, and a second attempt of
 * the execution never sends it again: docs/exactly-once.md, B3), and confirms the claim once
 * answered. `then` runs while the slot is still held: a waited-for run keeps it until it ends, and
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
	const { request, slots, wait, record, budget } = billed;
	const { itemIndex, deadline, stop } = wait;
	let reservation: Reservation | undefined;
	if (budget?.active) budget.refuseIfHopeless(context.getNode(), itemIndex, billed.worst ?? 0);
	return await withPlanSlot(context, slots, wait, async (onBusy, accepted) => {
		let answer: ApiEnvelope;
		try {
			answer = await apiRequest.call(context, {
				...request,
				itemIndex,
				deadline,
				stop,
				onBusy,
				beforeFirstSend: async () => {
					if (budget?.active) {
						const signals = [cancelSignalOf(context), stop];
						const waitFor = { deadline, signals };
						const worst = billed.worst ?? 0;
						reservation = await budget.reserve(context.getNode(), itemIndex, worst, waitFor);
					}
					const claim = await record.claim(itemIndex).catch((error: unknown) => {
						// Nothing was sent: the reservation is free again.
						if (reservation) budget?.release(reservation);
						throw error;
					});
					if (claim === 'claimed-before') {
						// An earlier attempt of this execution may have sent (and been billed for) it.
						if (reservation) budget?.keep(reservation);
						throw record.repeatError(itemIndex);
					}
				},
			});
		} catch (error) {
			if (reservation && budget) {
				if (isOutcomeUnknown(error)) budget.keep(reservation);
				else budget.release(reservation);
			}
			// Already in words: the transport and the record throw NodeApiError or NodeOperationError.
			throw error as NodeOperationError;
		}
		accepted();
		await record.confirm(itemIndex);
		if (reservation && budget && request.kind !== 'dispatch')
			budget.settle(reservation, answer.credits_used, answer.credits_remaining);
		const held = reservation;
		return await then(answer, {
			ended: (used, remaining) => {
				if (held) budget?.settle(held, used, remaining);
			},
		});
	});
}
