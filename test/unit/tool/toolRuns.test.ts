/**
 * tool/toolRuns.ts on the sources: a tool call waits for a run at most the Tool Wait, then answers
 * with its rows or a note a model can act on (never an error), and a repeated call for a recipe whose
 * run no caller has had the end of is given that run, not a second one (docs/exactly-once.md B11).
 * Polls go through the transport to scripted answers of webscrape.ai.
 */
import type { IDataObject, INode } from 'n8n-workflow';

import type { RunSettings } from '../../../nodes/WebScrapeAi/runs';
import { parseRunSettings } from '../../../nodes/WebScrapeAi/runs';
import { answerAsTool, noteToolRun, runInProgress } from '../../../nodes/WebScrapeAi/tool/toolRuns';
import type { Answer } from '../../harness/actionContext';
import { actionContextOn, completed, refused } from '../../harness/actionContext';
import { ProcessedDataTable } from '../../harness/processedData';
import { delay } from '../../harness/host';

const node = { id: 'n', name: 'WebScrape AI Tool', type: 'x.webScrapeAiTool' } as INode;

function toolSettings(toolWaitMs: number): RunSettings {
	const settings = parseRunSettings(node, 0, true, {
		waitForCompletion: true,
		output: 'items',
		fileFormat: 'jsonl',
		binaryPropertyName: 'data',
		options: {},
	});
	return { ...settings, pollMs: 5, maxPollMs: 10, toolWaitMs, timeoutMs: 60_000 };
}

function run(status: string, more: IDataObject = {}): Answer {
	return completed({ id: 'run1', run_status: status, recipe_id: 'r1', ...more });
}
const ended = run('completed', {
	result: { pages: [{ items: [{ title: 'a' }, { title: 'b' }] }] },
});

/** A tool's context whose polls of the run are answered by `answers` in turn, the last repeated. */
function toolContext(answers: Answer[], nodeName = 'WebScrape AI Tool') {
	let polls = 0;
	const harness = actionContextOn(new ProcessedDataTable(), {
		nodeType: 'x.webScrapeAiTool',
		answer: () => answers[Math.min(polls++, answers.length - 1)],
	});
	const context = harness.context;
	const getNode = context.getNode.bind(context);
	context.getNode = () => ({ ...getNode(), name: nodeName });
	return { context, polls: () => polls, requests: harness.requests };
}

const noteOf = (items: Array<{ json: IDataObject }>) => String(items[0].json.note);

test('a run that ends within the Tool Wait: its rows, what it cost told first, and the next call starts a new run', async () => {
	const { context, requests } = toolContext([run('running'), ended]);
	const settle = noteToolRun(context, 'r1');
	settle('run1');
	const told: IDataObject[] = [];
	const items = await answerAsTool.call(context, 'run1', toolSettings(5_000), {
		itemIndex: 0,
		operation: 'run',
		pollFirst: false,
		onEnded: (envelope) => told.push(envelope.data),
	});
	expect(items.map((item) => item.json)).toEqual([{ title: 'a' }, { title: 'b' }]);
	expect(told).toHaveLength(1);
	expect(requests.map((request) => request.url)).toEqual([
		'http://127.0.0.1:9/v1/smartbrowse/runs/run1',
		'http://127.0.0.1:9/v1/smartbrowse/runs/run1',
	]);
	await delay(0);
	expect(await runInProgress(context, 'r1')).toBeUndefined();
});

test.each<['run' | 'get', string]>([
	[
		'run',
		'To get its rows, call the tool that gets a webscrape.ai run (WebScrape AI → Run → Get) with run ID run1, for example in a minute; it costs nothing. Do not run the recipe again to get them: that would start, and bill, a second run.',
	],
	['get', 'Call this tool again with run ID run1 in a minute to get its rows; it costs nothing.'],
])(
	'a run still going after the Tool Wait (%s): one item with its ID, its status and what to do, not an error',
	async (operation, next) => {
		const { context } = toolContext([run('running')]);
		const items = await answerAsTool.call(context, 'run1', toolSettings(30), {
			itemIndex: 3,
			operation,
			pollFirst: true,
		});
		expect(items).toHaveLength(1);
		expect(items[0].pairedItem).toEqual({ item: 3 });
		expect(items[0].json.run_id).toBe('run1');
		expect(items[0].json.status).toBe('running');
		expect(noteOf(items)).toBe(
			`Run run1 is still running at webscrape.ai after 0 s of waiting. It goes on by itself and costs nothing more to wait for; a run can take up to 15 minutes. ${next}`,
		);
	},
);

test('the note counts the seconds waited', async () => {
	const { context } = toolContext([run('queued')]);
	const items = await answerAsTool.call(context, 'run1', toolSettings(1_600), {
		itemIndex: 0,
		operation: 'get',
		pollFirst: true,
	});
	expect(noteOf(items)).toMatch(
		/^Run run1 is still queued at webscrape\.ai after 2 s of waiting\./,
	);
});

test('a repeated call says the run this tool started is still in progress and no second run was started', async () => {
	const { context } = toolContext([run('running')]);
	const startedAt = Date.now() - 42_000;
	const items = await answerAsTool.call(context, 'run1', toolSettings(20), {
		itemIndex: 0,
		operation: 'run',
		pollFirst: true,
		repeatOf: { startedAt },
	});
	expect(noteOf(items)).toMatch(
		/^This recipe's run run1, started by this tool 42 s ago, is still in progress, so no second run was started \(it would be billed again\)\. Run run1 is still running/,
	);
});

test('a poll that fails for good is the error (only the Tool Wait ending is an answer)', async () => {
	const { context } = toolContext([refused(404, 'not_found', 'no such run')]);
	await expect(
		answerAsTool.call(context, 'run9', toolSettings(5_000), {
			itemIndex: 0,
			operation: 'get',
			pollFirst: true,
		}),
	).rejects.toThrow('Run "run9" was not found');
});

test('B11: a run noted before its dispatch is found by a call made meanwhile, once its ID is known', async () => {
	const { context } = toolContext([]);
	const settle = noteToolRun(context, 'r2');
	const found = runInProgress(context, 'r2');
	settle('run2');
	expect(await found).toEqual({ runId: 'run2', startedAt: expect.any(Number) });
	expect(await runInProgress(context, 'other')).toBeUndefined();
	const { context: otherNode } = toolContext([], 'Another Tool');
	expect(await runInProgress(otherNode, 'r2')).toBeUndefined();
});

test('B11: a dispatch that started nothing is forgotten; a later settle changes nothing', async () => {
	const { context } = toolContext([]);
	const settle = noteToolRun(context, 'r3');
	settle(undefined);
	settle('late');
	expect(await runInProgress(context, 'r3')).toBeUndefined();
});

test('B11: a call made while the dispatch is pending learns it started nothing', async () => {
	const { context } = toolContext([]);
	const settle = noteToolRun(context, 'r4');
	const found = runInProgress(context, 'r4');
	settle(undefined);
	expect(await found).toBeUndefined();
});

test('B11: a newer dispatch of the same recipe replaces the older, which cannot remove it', async () => {
	const { context } = toolContext([]);
	const older = noteToolRun(context, 'r5');
	const newer = noteToolRun(context, 'r5');
	older(undefined);
	newer('run5b');
	expect(await runInProgress(context, 'r5')).toEqual({
		runId: 'run5b',
		startedAt: expect.any(Number),
	});
});

test('B11: a run is offered to repeated calls for 16 minutes, then forgotten', async () => {
	const { context } = toolContext([]);
	const now = Date.now();
	const clock = jest.spyOn(Date, 'now');
	try {
		clock.mockReturnValue(now);
		noteToolRun(context, 'r6')('run6');
		clock.mockReturnValue(now + 16 * 60_000);
		expect(await runInProgress(context, 'r6')).toEqual({ runId: 'run6', startedAt: now });
		clock.mockReturnValue(now + 16 * 60_000 + 1);
		expect(await runInProgress(context, 'r6')).toBeUndefined();
		clock.mockReturnValue(now);
		expect(await runInProgress(context, 'r6')).toBeUndefined();
	} finally {
		clock.mockRestore();
	}
});

test('B11: the end of another run of the recipe does not forget the one in progress', async () => {
	const { context } = toolContext([ended]);
	noteToolRun(context, 'r1')('run-newer');
	await answerAsTool.call(context, 'run1', toolSettings(5_000), {
		itemIndex: 0,
		operation: 'get',
		pollFirst: true,
	});
	await delay(0);
	expect(await runInProgress(context, 'r1')).toEqual({
		runId: 'run-newer',
		startedAt: expect.any(Number),
	});
});

test('B11: the run ID given first stays, whatever a later settle says (the caller settles again when it ends)', async () => {
	const { context } = toolContext([]);
	const settle = noteToolRun(context, 'r7');
	settle('run7');
	settle(undefined);
	expect(await runInProgress(context, 'r7')).toEqual({
		runId: 'run7',
		startedAt: expect.any(Number),
	});
});

test('B11: a call that waited on a dispatch which started nothing leaves a newer dispatch of the recipe in place', async () => {
	const { context } = toolContext([]);
	const older = noteToolRun(context, 'r8');
	const found = runInProgress(context, 'r8');
	const newer = noteToolRun(context, 'r8');
	older(undefined);
	expect(await found).toBeUndefined();
	newer('run8');
	expect(await runInProgress(context, 'r8')).toEqual({
		runId: 'run8',
		startedAt: expect.any(Number),
	});
});

test('B11: runs are kept per workflow: another workflow with the same node and recipe starts its own', async () => {
	const one = actionContextOn(new ProcessedDataTable(), { workflowId: 'wf-a' }).context;
	const other = actionContextOn(new ProcessedDataTable(), { workflowId: 'wf-b' }).context;
	noteToolRun(one, 'r9')('run9');
	expect(await runInProgress(other, 'r9')).toBeUndefined();
	expect(await runInProgress(one, 'r9')).toEqual({ runId: 'run9', startedAt: expect.any(Number) });
});

test('Run → Get of a run this tool never started: its rows, nothing to forget', async () => {
	const { context } = toolContext([
		run('completed', { recipe_id: 'never-noted', result: { pages: [{ items: [{}, {}] }] } }),
	]);
	const items = await answerAsTool.call(context, 'run1', toolSettings(5_000), {
		itemIndex: 0,
		operation: 'get',
		pollFirst: true,
	});
	expect(items).toHaveLength(2);
});
