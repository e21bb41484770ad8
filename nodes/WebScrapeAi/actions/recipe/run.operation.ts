import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { executeBatch, prepareItems } from '../../batch/batch';
import { BilledBatch } from '../../batch/billedBatch';
import { endedRunCost } from '../../budget/creditBudget';
import type { RunSettings } from '../../runs';
import { outputEndedRun, readRunSettings, rowFileFor, waitForRun } from '../../runs';
import { answerAsTool, noteToolRun, runInProgress } from '../../tool/toolRuns';
import { markRefusedBeforeSending, validateId } from '../../core/validation';
import type { ApiEnvelope } from '../../transport';
import { readUsage } from '../../transport';
import { fileFields, outputField, runOptionsField } from '../shared/runOptions.description';

const show = { resource: ['recipe'], operation: ['run'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Recipe ID',
		name: 'recipeId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'm3Yc2tFvN8q',
		displayOptions: { show },
		description:
			'The recipe to run, as shown in the webscrape.ai SmartBrowse studio (about 11 letters and digits). Each input item starts one run.',
	},
	...[false, true].map(
		(asTool): INodeProperties => ({
			displayName: 'Wait for Completion',
			name: 'waitForCompletion',
			type: 'boolean',
			default: true,
			// The tool variant bounds its wait (Tool Wait), so the worker hint is for workflows only.
			displayOptions: { show: { ...show, '@tool': [asTool] } },
			description:
				'Whether to wait until the run ends and output its rows. Off: output the run ID right away and let a WebScrape AI Trigger continue when the run ends.',
			hint: asTool
				? undefined
				: 'Waiting holds an n8n worker until the runs end (up to 15 minutes each). For many or long runs, turn it off and continue in a workflow with the WebScrape AI Trigger.',
		}),
	),
	outputField({ ...show, waitForCompletion: [true] }),
	...fileFields({ ...show, waitForCompletion: [true] }),
	runOptionsField(show, true),
];

interface PreparedRun {
	recipeId: string;
	settings: RunSettings;
}

/** What every item's run shares: the batch's billed path and a run's worst cost, if budgeted. */
interface RunBatch {
	billed: BilledBatch;
	runCost?: { worst: number; perPage: number };
}

/** Starts one run per input item (up to Concurrency at once) and optionally waits for each. */
export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	const node = this.getNode();
	const { prepared, outcomes } = prepareItems(this, items.length, (itemIndex) => ({
		recipeId: validateId(
			node,
			this.getNodeParameter('recipeId', itemIndex),
			'Recipe ID',
			itemIndex,
		),
		settings: readRunSettings.call(this, itemIndex, true),
	}));
	const valid = prepared.filter((run): run is PreparedRun => run !== undefined);
	if (valid.length === 0)
		return await executeBatch.call(this, outcomes, async () => [], { concurrency: 1 });
	// Batch-wide settings (Concurrency, Check Quota First, the budget): the first valid item's.
	const batch = valid[0].settings;
	const billed = billedRuns(this, prepared, prepared.indexOf(valid[0]), batch.concurrency);
	// One read of the free usage endpoint serves the quota check and the budget.
	const usage = batch.checkQuota || billed.budget.active ? await readUsage.call(this) : undefined;
	const shortage = batch.checkQuota && usage && quotaShortage(this, usage, valid.length);
	if (shortage) {
		if (!this.continueOnFail()) throw shortage;
		prepared.forEach((run, itemIndex) => {
			if (run) outcomes[itemIndex] = { error: shortage };
		});
		return await executeBatch.call(this, outcomes, async () => [], { concurrency: 1 });
	}
	const runCost = usage && billed.budget.active ? worstRunCost(this, usage) : undefined;
	if (runCost)
		await billed.open(
			prepared.map((run) => (run ? runCost.worst : 0)),
			usage,
		);
	return await billed.run(
		outcomes,
		async (itemIndex, stop) =>
			await runItem(this, { billed, runCost }, prepared[itemIndex] as PreparedRun, itemIndex, stop),
	);
}

/**
 * The batch's billed path. A slot of the plan is held from dispatch until the run has ended (or,
 * without waiting, until it was dispatched): whether runs in progress count toward the plan's cap
 * is not documented.
 */
function billedRuns(
	context: IExecuteFunctions,
	prepared: Array<PreparedRun | undefined>,
	firstItem: number,
	concurrency: number,
): BilledBatch {
	return new BilledBatch(context, {
		operation: 'recipe.run',
		what: 'run',
		repeatText: {
			message: (itemIndex) =>
				`The run of recipe "${(prepared[itemIndex] as PreparedRun).recipeId}" for this item was already started by an earlier attempt of this execution, so it was not started again`,
			description:
				'n8n ran this execution again, most likely because the worker running it stopped or restarted (queue mode). The run the first attempt started (or was starting) was not started a second time and is billed once: when it ends, its rows reach a WebScrape AI Trigger, or fetch them with Run → Get using its run ID from the webscrape.ai dashboard.',
		},
		itemCount: prepared.length,
		firstItem,
		concurrency,
	});
}

/** One item: its run started through the billed path, then waited for (or, as a tool, answered). */
async function runItem(
	context: IExecuteFunctions,
	{ billed, runCost }: RunBatch,
	{ recipeId, settings }: PreparedRun,
	itemIndex: number,
	stop: AbortSignal,
): Promise<INodeExecutionData[]> {
	// As a tool that waits, a call finds a run an earlier call started, and notes its own.
	const waitsAsTool = settings.asTool && settings.waitForCompletion;
	const earlier = waitsAsTool ? await runInProgress(context, recipeId) : undefined;
	if (earlier) {
		return await answerAsTool.call(context, earlier.runId, settings, {
			itemIndex,
			operation: 'run',
			stop,
			pollFirst: true,
			repeatOf: earlier,
		});
	}
	// A tool call also waits for a free slot of the plan at most the Tool Wait: a dispatch sent
	// after the client gave up would start a run nobody learns the ID of.
	const startWithinMs = settings.asTool
		? Math.min(settings.timeoutMs, settings.toolWaitMs)
		: settings.timeoutMs;
	const wait = {
		itemIndex,
		deadline: Date.now() + startWithinMs,
		timeoutMs: startWithinMs,
		stop,
		what: `start the run of recipe "${recipeId}"`,
		unit: 'runs in progress',
	};
	const request = {
		method: 'POST' as const,
		path: `/smartbrowse/recipes/${encodeURIComponent(recipeId)}/run`,
		kind: 'dispatch' as const,
		subject: { kind: 'recipe' as const, id: recipeId },
	};
	const settleToolRun = waitsAsTool ? noteToolRun(context, recipeId) : undefined;
	try {
		return await billed.send(
			{ request, wait, worst: runCost?.worst ?? 0 },
			async (dispatch, cost) => {
				const runId = String(dispatch.data.run_id ?? '');
				settleToolRun?.(runId || undefined);
				const onEnded = (ended: ApiEnvelope) =>
					cost.ended(endedRunCost(ended, runCost?.perPage ?? 0), ended.credits_remaining);
				return await afterDispatch(context, dispatch, runId, settings, {
					itemIndex,
					stop,
					onEnded,
				});
			},
		);
	} finally {
		// No slot, or no answer: nothing was started that a repeated call could be given.
		settleToolRun?.(undefined);
	}
}

/** A dispatched run: its ID right away, the tool's answer, or (waited for) its rows once it ends. */
async function afterDispatch(
	context: IExecuteFunctions,
	dispatch: ApiEnvelope,
	runId: string,
	settings: RunSettings,
	item: { itemIndex: number; stop: AbortSignal; onEnded: (ended: ApiEnvelope) => void },
): Promise<INodeExecutionData[]> {
	const { itemIndex, stop, onEnded } = item;
	const startedAt = Date.now();
	if (!settings.waitForCompletion || !runId) {
		return [{ json: dispatch.data, pairedItem: { item: itemIndex } }];
	}
	if (settings.asTool) {
		return await answerAsTool.call(context, runId, settings, {
			itemIndex,
			operation: 'run',
			stop,
			pollFirst: false,
			onEnded,
		});
	}
	// Build the poll URL from the credential's base URL: poll_url could name another host.
	const rows = rowFileFor(settings);
	const ended = await waitForRun.call(context, runId, settings, {
		itemIndex,
		startedAt,
		stop,
		pollFirst: false,
		rows,
	});
	onEnded(ended);
	return await outputEndedRun(context, ended, settings, itemIndex, rows);
}

/**
 * A run's highest possible cost: the plan's pages-per-run cap at its cost per page, from the usage
 * endpoint (a run is billed per page extracted, once it completes).
 */
function worstRunCost(
	context: IExecuteFunctions,
	usage: ApiEnvelope,
): { worst: number; perPage: number } {
	const pages = Number(usage.data.pages_per_run_cap);
	const perPage = Number(usage.data.cost_per_page);
	if (!(pages > 0) || !(perPage > 0)) {
		throw markRefusedBeforeSending(
			new NodeOperationError(
				context.getNode(),
				"webscrape.ai's usage answer gives no pages-per-run cap or cost per page, so a run's highest cost is not known and no run was started",
				{
					description:
						'"Max Credits" and "Keep at Least" need both to set a run\'s cost aside before starting it. Turn both off to run without a budget.',
				},
			),
			'setting',
		);
	}
	return { worst: pages * perPage, perPage };
}

/** The error when the batch would exceed the 30-day run quota the usage endpoint reported. */
function quotaShortage(
	context: IExecuteFunctions,
	usage: ApiEnvelope,
	needed: number,
): NodeOperationError | undefined {
	const used = Number(usage.data.runs_used_30d);
	const cap = Number(usage.data.runs_per_month_cap);
	if (!Number.isFinite(used) || !Number.isFinite(cap)) return undefined;
	const remaining = Math.max(0, cap - used);
	if (remaining >= needed) return undefined;
	return markRefusedBeforeSending(
		new NodeOperationError(
			context.getNode(),
			`Only ${remaining} SmartBrowse run${remaining === 1 ? '' : 's'} remain in your 30-day quota, but ${needed} would start, so none was started`,
			{
				description: `${used} of ${cap} runs were used in the last 30 days. Send fewer items, upgrade the plan, or turn off the option "Check Quota First" to start as many as the quota allows.`,
			},
		),
		'account',
	);
}
