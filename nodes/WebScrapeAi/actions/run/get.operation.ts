import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { executeBatch, prepareItems } from '../../batch/batch';
import type { RunSettings } from '../../runs';
import {
	isTerminal,
	readRunSettings,
	runObject,
	runPath,
	outputEndedRun,
	rowFileFor,
	waitForRun,
} from '../../runs';
import { answerAsTool } from '../../tool/toolRuns';
import { validateId } from '../../core/validation';
import { apiRequest } from '../../transport';
import { fileFields, outputField, runOptionsField } from '../shared/runOptions.description';

const show = { resource: ['run'], operation: ['get'] };
const CONCURRENCY = 10;

export const description: INodeProperties[] = [
	{
		displayName: 'Run ID',
		name: 'runId',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'k7Xb9dRmQ2p',
		displayOptions: { show },
		description:
			'The run to fetch: the "run_id" a dispatch returned, or the "run_id" of a trigger delivery',
	},
	{
		displayName: 'Wait for Completion',
		name: 'waitForCompletion',
		type: 'boolean',
		default: false,
		displayOptions: { show },
		description:
			'Whether to keep checking until the run ends. Off: fetch it once; a run still in progress is output as the run object.',
	},
	outputField(show),
	...fileFields(show),
	runOptionsField(show, false),
];

/** Fetches one run per input item, optionally waiting for each to end. */
export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	const node = this.getNode();
	const { prepared, outcomes } = prepareItems(this, items.length, (itemIndex) => {
		const runId = validateId(node, this.getNodeParameter('runId', itemIndex), 'Run ID', itemIndex);
		const settings = readRunSettings.call(this, itemIndex, false);
		settings.output = this.getNodeParameter('output', itemIndex, 'items') as RunSettings['output'];
		return { runId, settings };
	});

	return await executeBatch.call(
		this,
		outcomes,
		async (itemIndex, stop) => {
			const { runId, settings } = prepared[itemIndex]!;
			// As a tool, a run in progress is waited for (at most the Tool Wait), whatever Wait for
			// Completion says: a model asked for the rows, and a call costs it a turn.
			if (settings.asTool) {
				return await answerAsTool.call(this, runId, settings, {
					itemIndex,
					operation: 'get',
					stop,
					pollFirst: true,
				});
			}
			const rows = rowFileFor(settings);
			const envelope = settings.waitForCompletion
				? await waitForRun.call(this, runId, settings, {
						itemIndex,
						startedAt: Date.now(),
						stop,
						pollFirst: true,
						rows,
					})
				: await apiRequest.call(this, {
						method: 'GET',
						path: runPath(runId),
						kind: 'read',
						subject: { kind: 'run', id: runId },
						itemIndex,
						rows,
					});
			if (!isTerminal(envelope))
				return [{ json: runObject(envelope), pairedItem: { item: itemIndex } }];
			return await outputEndedRun(this, envelope, settings, itemIndex, rows);
		},
		{ concurrency: CONCURRENCY },
	);
}
