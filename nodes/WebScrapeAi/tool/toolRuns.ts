import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	NodeOperationError,
} from 'n8n-workflow';

import type { ApiEnvelope } from '../transport';
import type { RunSettings } from '../runs';
import { RunTimeoutError, shapeEndedRun, waitForRun } from '../runs';

/**
 * Runs as an AI tool (an AI Agent or an MCP client calls the node's tool variant) answer within the
 * Tool Wait: MCP clients built on the official SDK give up on a call after 60 s, while a run can take
 * 15 minutes. A run still going when the wait ends is returned as one item a model can act on (its
 * ID, its status, a note saying how to get its rows), never as an error, so the model never learns
 * "failed" about a run that goes on and is billed.
 */

/** How long a run this tool started is offered to a repeated call instead of a new one. */
const REPEAT_WINDOW_MS = 16 * 60_000;

/** What the item says when a run is still in progress after the tool's wait. */
function stillRunningItem(
	runId: string,
	itemIndex: number,
	context: {
		status: string;
		waitedMs: number;
		operation: 'run' | 'get';
		repeatOf?: { startedAt: number };
	},
): INodeExecutionData {
	const status = context.status;
	const waited = Math.round(context.waitedMs / 1000);
	const repeat = context.repeatOf
		? `This recipe's run ${runId}, started by this tool ${Math.round((Date.now() - context.repeatOf.startedAt) / 1000)} s ago, is still in progress, so no second run was started (it would be billed again). `
		: '';
	const next =
		context.operation === 'run'
			? `To get its rows, call the tool that gets a webscrape.ai run (WebScrape AI → Run → Get) with run ID ${runId}, for example in a minute; it costs nothing. Do not run the recipe again to get them: that would start, and bill, a second run.`
			: `Call this tool again with run ID ${runId} in a minute to get its rows; it costs nothing.`;
	const json: IDataObject = {
		run_id: runId,
		status,
		note: `${repeat}Run ${runId} is still ${status} at webscrape.ai after ${waited} s of waiting. It goes on by itself and costs nothing more to wait for; a run can take up to 15 minutes. ${next}`,
	};
	return { json, pairedItem: { item: itemIndex } };
}

/**
 * Waits for a run for at most the tool wait (and the item's Timeout): the ended run, or undefined
 * with the last status read when the run is still going.
 */
async function waitAsTool(
	this: IExecuteFunctions,
	runId: string,
	settings: RunSettings,
	context: { itemIndex: number; startedAt: number; stop?: AbortSignal; pollFirst: boolean },
): Promise<{ ended: ApiEnvelope } | { ended: undefined; waitedMs: number; status: string }> {
	const began = Date.now();
	try {
		const ended = await waitForRun.call(
			this,
			runId,
			{ ...settings, timeoutMs: Math.min(settings.timeoutMs, settings.toolWaitMs) },
			context,
		);
		return { ended };
	} catch (error) {
		// Already in words: the waiting engine throws NodeApiError or NodeOperationError.
		if (!(error instanceof RunTimeoutError)) throw error as NodeOperationError;
		return { ended: undefined, waitedMs: Date.now() - began, status: error.lastStatus };
	}
}

interface ToolRun {
	runId: Promise<string | undefined>;
	startedAt: number;
}

/**
 * The runs this process's tool calls started whose end no caller has been given yet (the call
 * returned the "still running" note), per workflow, node and recipe. A model that calls "run the
 * recipe" again meanwhile (what agents do after a timeout or an unclear answer) is given that run
 * (waited for, its rows once it ends) instead of a second, billed one. Once a caller got the run's
 * rows or its failure, the next call starts a new run. In this process only: with several n8n
 * processes answering MCP calls, a repeat that reaches another one starts a run.
 */
const toolRuns = new Map<string, ToolRun>();

function keyOf(context: IExecuteFunctions, recipeId: string): string {
	return `${context.getWorkflow().id ?? ''}:${context.getNode().name}:${recipeId}`;
}

/** A run of `recipeId` this tool started within the repeat window whose end no caller got yet. */
export async function runInProgress(
	context: IExecuteFunctions,
	recipeId: string,
): Promise<{ runId: string; startedAt: number } | undefined> {
	const key = keyOf(context, recipeId);
	const entry = toolRuns.get(key);
	if (!entry) return undefined;
	if (Date.now() - entry.startedAt > REPEAT_WINDOW_MS) {
		toolRuns.delete(key);
		return undefined;
	}
	const runId = await entry.runId;
	if (!runId) {
		if (toolRuns.get(key) === entry) toolRuns.delete(key);
		return undefined;
	}
	return { runId, startedAt: entry.startedAt };
}

/**
 * Notes a dispatch of `recipeId` before it is sent, so a call made at the same moment finds it;
 * `settle` gives its run ID (undefined: nothing was started). The first call counts, so a caller
 * can settle again in a `finally` whatever happened before.
 */
export function noteToolRun(
	context: IExecuteFunctions,
	recipeId: string,
): (runId: string | undefined) => void {
	const key = keyOf(context, recipeId);
	let resolve: (runId: string | undefined) => void = () => undefined;
	const entry: ToolRun = {
		runId: new Promise((settle) => (resolve = settle)),
		startedAt: Date.now(),
	};
	toolRuns.set(key, entry);
	let settled = false;
	return (runId) => {
		if (settled) return;
		settled = true;
		resolve(runId);
		if (!runId && toolRuns.get(key) === entry) toolRuns.delete(key);
	};
}

/** Forgets run `runId` of `recipeId` once a caller was given its end (its rows or its failure). */
function forgetToolRun(context: IExecuteFunctions, recipeId: unknown, runId: string): void {
	const key = keyOf(context, String(recipeId ?? ''));
	const entry = toolRuns.get(key);
	void entry?.runId.then((id) => {
		if (id === runId && toolRuns.get(key) === entry) toolRuns.delete(key);
	});
}

/**
 * Answers a tool call about run `runId` (Recipe → Run's, or Run → Get's): waits for it at most the
 * Tool Wait, then gives its rows (or its failure) and forgets it, or the "still running" note.
 * `repeatOf`: an earlier call started the run and this one asked for the same recipe again.
 */
export async function answerAsTool(
	this: IExecuteFunctions,
	runId: string,
	settings: RunSettings,
	context: {
		itemIndex: number;
		operation: 'run' | 'get';
		stop?: AbortSignal;
		pollFirst: boolean;
		repeatOf?: { startedAt: number };
		/** Told the ended run, before its rows are shaped (what it cost). */
		onEnded?: (ended: ApiEnvelope) => void;
	},
): Promise<INodeExecutionData[]> {
	const { itemIndex } = context;
	const outcome = await waitAsTool.call(this, runId, settings, {
		itemIndex,
		startedAt: Date.now(),
		stop: context.stop,
		pollFirst: context.pollFirst,
	});
	if (!outcome.ended) {
		return [
			stillRunningItem(runId, itemIndex, {
				status: outcome.status,
				waitedMs: outcome.waitedMs,
				operation: context.operation,
				repeatOf: context.repeatOf,
			}),
		];
	}
	context.onEnded?.(outcome.ended);
	forgetToolRun(this, outcome.ended.data.recipe_id, runId);
	return shapeEndedRun(this.getNode(), outcome.ended, settings, itemIndex);
}
