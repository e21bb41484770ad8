/**
 * exactlyOnce/ on a stand-in of an n8n before 1.64, whose node context has no processed-data
 * helpers: a billed request is refused in words naming the release it needs, before anything is
 * sent, never sent unrecorded. (The helpers themselves are n8n's: the engine tests drive them.)
 */
import type { IExecuteFunctions } from 'n8n-workflow';

import { BilledCallRecord } from '../../../nodes/WebScrapeAi/exactlyOnce/billedCallRecord';
import {
	NeedsNewerN8nError,
	onNodeRow,
	recordInProcessedData,
} from '../../../nodes/WebScrapeAi/exactlyOnce/nodeRow';

/** The context an n8n 1.60 hands a node: a saved workflow, an execution, no dedup helpers. */
function contextOfN8n160(nodeType = 'CUSTOM.webScrapeAi', workflowId = 'wf1'): IExecuteFunctions {
	return {
		getWorkflow: () => ({ id: workflowId, name: 'w', active: false }),
		getNode: () => ({ id: 'n1', name: 'WebScrape AI', type: nodeType }),
		getExecutionId: () => 'exec1',
		helpers: {},
		logger: { debug() {}, info() {}, warn() {}, error() {} },
	} as unknown as IExecuteFunctions;
}

const REPEAT = { message: () => 'repeat', description: '' };

test.each([
	['the action node', 'CUSTOM.webScrapeAi', 'its billed requests'],
	['the trigger', 'CUSTOM.webScrapeAiTrigger', 'the deliveries it emitted'],
])('%s: onNodeRow and recordInProcessedData say which n8n they need', async (_node, type, what) => {
	const context = contextOfN8n160(type);
	const task = jest.fn();
	const expected = `WebScrape AI needs n8n 1.64 or later to record ${what} in n8n's database, and this n8n cannot (it has no processed-data helpers)`;
	await expect(onNodeRow(context, 10, task)).rejects.toThrow(new NeedsNewerN8nError(what));
	await expect(recordInProcessedData(context, ['a'])).rejects.toThrow(expected);
	expect(task).not.toHaveBeenCalled();
});

test("a billed request's claim fails the item with that message and sends nothing", async () => {
	const record = new BilledCallRecord(contextOfN8n160(), 'dispatch', REPEAT, 3);
	await expect(record.claim(2)).rejects.toMatchObject({
		message:
			"WebScrape AI needs n8n 1.64 or later to record its billed requests in n8n's database, and this n8n cannot (it has no processed-data helpers) [item 2]",
		description: expect.stringMatching(/^Nothing was sent for this item, so nothing was billed\./),
	});
});

test('an unsaved workflow (a tool call outside a saved execution) still runs unrecorded', async () => {
	const context = contextOfN8n160('CUSTOM.webScrapeAi', '');
	await expect(onNodeRow(context, 10, jest.fn())).resolves.toBe('unrecorded');
});
