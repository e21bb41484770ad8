import type { IExecuteFunctions, IWebhookFunctions } from 'n8n-workflow';

/**
 * How many emitted deliveries a process remembers (about 100 bytes each in memory, nothing in the
 * database): past it the oldest is forgotten, and its repeat is stopped by the record instead.
 */
export const EMITTED_MEMORY = 5_000;

/**
 * Deliveries this process's executions emitted (or found emitted by another execution). Only an
 * execution that got past the record in n8n's database adds to it, so a delivery whose execution
 * failed before that is never in it, and its repeat is emitted. In one n8n process the webhook
 * reads it and answers a repeat without starting an execution; in queue mode the executions run on
 * workers, so every delivery reaches one and the record alone decides (a repeat then shows as a
 * short execution that emits nothing).
 */
const emitted = new Map<string, true>();

function keyOf(context: IWebhookFunctions | IExecuteFunctions, runId: string, event: string) {
	return `${context.getWorkflow().id ?? ''}:${context.getNode().id}:${runId}:${event}`;
}

export function emittedHere(context: IWebhookFunctions, runId: string, event: string): boolean {
	return emitted.has(keyOf(context, runId, event));
}

export function rememberEmitted(context: IExecuteFunctions, runId: string, event: string): void {
	const key = keyOf(context, runId, event);
	emitted.delete(key);
	emitted.set(key, true);
	if (emitted.size > EMITTED_MEMORY) emitted.delete(emitted.keys().next().value as string);
}
