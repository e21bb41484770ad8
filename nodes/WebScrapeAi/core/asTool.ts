import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { ApiEnvelope } from '../transport';

// What the node does differently as an AI tool (an AI Agent or an MCP client calls its tool
// variant): how it knows, the rows a model reads, a budget that spans an agent's calls, a refusal
// in words. Waiting within the Tool Wait is toolRuns.ts. Imports no helper at run time, so the
// helpers can ask it (types only from them).

/** Whether the node runs as an AI tool (its tool variant: an agent or an MCP client calls it). */
export function runsAsTool(context: IExecuteFunctions): boolean {
	return context.getNode().type.endsWith('Tool');
}

/** A tool call without an execution (an MCP Server Trigger's) shares its budget this long. */
const TOOL_WINDOW_MS = 24 * 60 * 60_000;
const toolBudgets = new Map<string, { budget: unknown; since: number }>();

/**
 * A tool is called once per call of an agent or MCP client, so its budget spans the calls of one
 * execution (an AI Agent's), or, when n8n runs the call outside any execution (an MCP Server
 * Trigger's), this process's calls for 24 hours from the first. `create` makes it the first time,
 * with the words its refusals use for that scope.
 */
export function sharedToolBudget<B>(context: IExecuteFunctions, create: (scope: string) => B): B {
	const executionId = context.getExecutionId();
	const key = `${context.getWorkflow().id ?? ''}:${context.getNode().name}:${executionId ?? ''}`;
	const now = Date.now();
	for (const [other, entry] of toolBudgets)
		if (now - entry.since > TOOL_WINDOW_MS) toolBudgets.delete(other);
	let entry = toolBudgets.get(key);
	if (!entry) {
		const scope = executionId ? 'this execution' : 'this tool today (24 hours from its first call)';
		entry = { budget: create(scope), since: now };
		toolBudgets.set(key, entry);
	}
	return entry.budget as B;
}

/** As a tool, a refused call is an answer the model can act on, not an error it retries. */
export function budgetAnswer(refusal: {
	toolNote: string;
	itemIndex: number;
}): INodeExecutionData[] {
	return [
		{
			json: { budget_reached: true, note: refusal.toolNote },
			pairedItem: { item: refusal.itemIndex },
		},
	];
}

/**
 * A model reads every row a tool returns: a large run would fill its context. The first `limit`
 * rows, then one note that says how many there are and how to get the rest.
 */
export function limitedForModel(
	envelope: ApiEnvelope,
	rows: INodeExecutionData[],
	limit: number,
	itemIndex: number,
): INodeExecutionData[] {
	const runId = String(envelope.data.id ?? envelope.data.run_id ?? '');
	const note: IDataObject = {
		note: `Showing the first ${limit} of ${rows.length} rows of run ${runId}, which completed. All ${rows.length} rows stay at webscrape.ai: a workflow gets them with WebScrape AI → Run → Get (Run ID ${runId}), or the tool's "Row Limit as a Tool" option can be raised. Say so to the user if more rows are needed.`,
		run_id: runId,
		rows_returned: limit,
		rows_total: rows.length,
	};
	return [...rows.slice(0, limit), { json: note, pairedItem: { item: itemIndex } }];
}
