import type { IExecuteFunctions } from 'n8n-workflow';

import type { ApiCall, ApiEnvelope } from '../transport';
import { apiRequest } from '../transport';
import type { PlanSlots, SlotWait } from './planSlots';
import { withPlanSlot } from './planSlots';
import type { DispatchRecord } from './processedRecord';

/** What a billed request sends; the item, its deadline and stop signal come from the slot wait. */
export type BilledRequest = Pick<ApiCall, 'method' | 'path' | 'body' | 'kind' | 'subject'>;

/**
 * The one path of every billed request (a recipe dispatch, a scrape, an extraction): it holds one
 * of the plan's slots, claims the call in n8n's database right before it is first sent (so a second
 * attempt of the execution never sends it again: docs/exactly-once.md, B3), and confirms the claim
 * once answered. `then` runs while the slot is still held: a waited-for run keeps it until it ends.
 */
export async function sendBilledCall<T>(
	context: IExecuteFunctions,
	billed: { request: BilledRequest; slots: PlanSlots; wait: SlotWait; record: DispatchRecord },
	then: (answer: ApiEnvelope) => Promise<T>,
): Promise<T> {
	const { request, slots, wait, record } = billed;
	const { itemIndex, deadline, stop } = wait;
	return await withPlanSlot(context, slots, wait, async (onBusy, accepted) => {
		const answer = await apiRequest.call(context, {
			...request,
			itemIndex,
			deadline,
			stop,
			onBusy,
			beforeFirstSend: async () => await record.claimOrThrow(itemIndex),
		});
		accepted();
		await record.confirm(itemIndex);
		return await then(answer);
	});
}
