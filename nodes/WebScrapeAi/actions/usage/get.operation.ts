import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { asNodeError, errorItem } from '../../batch/batch';
import { readUsage } from '../../transport';

export const description: INodeProperties[] = [];

/**
 * Usage is per account, not per item: it is read once (free, not rate-limited) and every input
 * item gets the same answer, paired to it.
 */
export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	try {
		const usage = await readUsage.call(this);
		const json = { ...usage.data, credits_remaining: usage.credits_remaining };
		return items.map((_item, itemIndex) => ({
			json: { ...json },
			pairedItem: { item: itemIndex },
		}));
	} catch (error) {
		if (!this.continueOnFail()) throw asNodeError.call(this, error);
		return items.map((_item, itemIndex) => errorItem.call(this, error, itemIndex));
	}
}
