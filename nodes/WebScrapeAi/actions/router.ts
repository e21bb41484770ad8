import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import * as pageExtract from './page/extract.operation';
import * as pageScrape from './page/scrape.operation';
import * as recipeRun from './recipe/run.operation';
import * as runGet from './run/get.operation';
import * as usageGet from './usage/get.operation';
import { runsAsTool } from '../core/asTool';
import { answeringAsTool } from '../tool/toolAnswer';

type Operation = (
	this: IExecuteFunctions,
	items: INodeExecutionData[],
) => Promise<INodeExecutionData[]>;

const operations: Record<string, Operation> = {
	'recipe.run': recipeRun.execute,
	'run.get': runGet.execute,
	'usage.get': usageGet.execute,
	'page.scrape': pageScrape.execute,
	'page.extract': pageExtract.execute,
};

/**
 * Resource and operation are the same for every item, so the whole batch goes to one handler. As
 * an AI tool every outcome is an answer the model reads (tool/toolAnswer.ts), never a throw.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const handler = operations[`${resource}.${operation}`];
	if (!handler) {
		throw new NodeOperationError(
			this.getNode(),
			`The operation "${operation}" of resource "${resource}" is not supported`,
		);
	}
	if (runsAsTool(this))
		return [await answeringAsTool(this, async () => await handler.call(this, items))];
	return [await handler.call(this, items)];
}
