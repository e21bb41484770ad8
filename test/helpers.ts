import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import type { ActionOptions, ActionRun } from './harness/engine';
import { logLines, runAction, visible } from './harness/engine';
import { delay, process } from './harness/host';
import { Simulator, TEST_KEY, fakeKey } from './simulator';

export { TEST_KEY, fakeKey };

/** A simulator per test file, and every result the file produced, to search for secrets. */
export function useSimulator(options?: { timeScale?: number }) {
	const context = {
		sim: undefined as unknown as Simulator,
		baseUrl: '',
		seen: [] as unknown[],
		/** Runs the action node against this file's simulator with the test key. */
		async run(
			parameters: IDataObject,
			items: IDataObject[] = [{}],
			options: Partial<ActionOptions> = {},
		): Promise<ActionRun> {
			const result = await runAction(parameters, items, {
				credentials: { apiKey: TEST_KEY, baseUrl: context.baseUrl },
				...options,
			});
			context.seen.push(result.outputs, result.error, result.run.data.resultData);
			return result;
		},
	};
	beforeAll(async () => {
		context.sim = new Simulator(options);
		context.baseUrl = await context.sim.start();
	});
	afterAll(async () => await context.sim.stop());
	return context;
}

export function jsonOf(items: INodeExecutionData[] | undefined): IDataObject[] {
	return (items ?? []).map((item) => item.json);
}

export function pairedOf(items: INodeExecutionData[] | undefined): unknown[] {
	return (items ?? []).map((item) => item.pairedItem);
}

/** Asserts the literal key is nowhere in what the runs produced or in n8n's log. */
export function expectNoSecret(seen: unknown[], secrets: string[] = [TEST_KEY]): void {
	const text = visible(seen) + logLines.join('\n');
	for (const secret of secrets) expect(text.includes(secret)).toBe(false);
}

export const sleepMs = delay;

/** Fast polling for tests: the schedule's shape is the same, only shorter. */
export const FAST = { pollInterval: 0.2, maxPollInterval: 0.5 };

/**
 * A measured figure a test reports (times, row sizes), one plain line on standard error: what CI's
 * log keeps, without the console's call-site block around every line.
 */
export function figure(text: string): void {
	process.stderr.write(`${text}\n`);
}
