/**
 * WebScrapeAiTrigger/emitted.ts: the process's memory of emitted deliveries, per workflow, node, run
 * and event, holding the last EMITTED_MEMORY (the oldest forgotten first; a delivery seen again is
 * the newest). The contexts are the two names it reads of n8n's.
 */
import type { IExecuteFunctions, IWebhookFunctions } from 'n8n-workflow';

import {
	EMITTED_MEMORY,
	emittedHere,
	rememberEmitted,
} from '../../../nodes/WebScrapeAiTrigger/emitted';

const context = (workflowId: string, nodeId = 'trigger') =>
	({
		getWorkflow: () => ({ id: workflowId }),
		getNode: () => ({ id: nodeId }),
	}) as unknown as IExecuteFunctions & IWebhookFunctions;

test.each([
	['the same workflow, node, run and event', 'w1', 'trigger', 'run1', 'completed', true],
	['another event of the run', 'w1', 'trigger', 'run1', 'failed', false],
	['another run', 'w1', 'trigger', 'run2', 'completed', false],
	['another node', 'w1', 'other', 'run1', 'completed', false],
	['another workflow', 'w2', 'trigger', 'run1', 'completed', false],
])(
	'remembered in w1/trigger: run1 completed; asked about %s → %s',
	(_what, workflow, nodeId, runId, event, expected) => {
		rememberEmitted(context('w1'), 'run1', 'completed');
		expect(emittedHere(context(workflow, nodeId), runId, event)).toBe(expected);
	},
);

test(`holds the last ${EMITTED_MEMORY}: the oldest is forgotten, one seen again stays`, () => {
	const memory = context('w-memory');
	rememberEmitted(memory, 'first', 'completed');
	rememberEmitted(memory, 'second', 'completed');
	for (let index = 0; index < EMITTED_MEMORY - 2; index++)
		rememberEmitted(memory, `filler-${index}`, 'completed');
	// Seen again: now the newest, so the next one pushes out "second", not "first".
	rememberEmitted(memory, 'first', 'completed');
	rememberEmitted(memory, 'one more', 'completed');
	expect(emittedHere(memory, 'first', 'completed')).toBe(true);
	expect(emittedHere(memory, 'second', 'completed')).toBe(false);
	expect(emittedHere(memory, 'one more', 'completed')).toBe(true);
});
