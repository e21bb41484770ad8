import type { INodeProperties } from 'n8n-workflow';

export const EVENTS = ['completed', 'failed', 'cancelled'] as const;
export type RunEvent = (typeof EVENTS)[number];

export const properties: INodeProperties[] = [
	{
		displayName:
			"webscrape.ai has no API to register webhooks: paste this node's Production URL (under Webhook URLs) into the recipe's Webhook URL in the webscrape.ai studio, with the credential's Webhook Header, if set",
		name: 'setupNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Events',
		name: 'events',
		type: 'multiOptions',
		required: true,
		default: ['completed', 'failed'],
		options: [
			{
				name: 'Completed',
				value: 'completed',
				description: 'The run finished and items came back',
			},
			{
				name: 'Failed',
				value: 'failed',
				description: 'The run errored (including the 15-minute cap)',
			},
			{
				name: 'Cancelled',
				value: 'cancelled',
				description: 'The run was force-stopped, for example by an account deletion',
			},
		],
		description:
			'Which run outcomes start the workflow. Deliveries naming "smartbrowse.completed" count as "completed", and likewise.',
	},
	{
		displayName: 'Recipe IDs',
		name: 'recipeIds',
		type: 'string',
		default: '',
		placeholder: 'm3Yc2tFvN8q, p9Lk3vWqR7s',
		description:
			'Comma-separated recipe IDs to react to. Leave empty to react to every recipe that posts to this URL.',
	},
	{
		displayName: 'Fetch Run Details',
		name: 'fetchRunDetails',
		type: 'boolean',
		default: true,
		description:
			'Whether the execution first reads the run from webscrape.ai. This brings the extracted rows (deliveries carry only counts) and proves the run exists under your key with this status: a delivery whose run ended otherwise emits nothing, and an unknown run fails the execution. Free.',
	},
	{
		displayName: 'Output',
		name: 'output',
		type: 'options',
		default: 'run',
		displayOptions: { show: { fetchRunDetails: [true] } },
		options: [
			{
				name: 'Run',
				value: 'run',
				description:
					"One item: the run (with its extracted rows) plus the delivery's event and timestamp",
			},
			{
				name: 'Extracted Items',
				value: 'items',
				description:
					'One item per extracted row. A failed run, or one without rows, arrives as the run object.',
			},
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Ignore Repeated Deliveries',
				name: 'dedupe',
				type: 'boolean',
				default: true,
				description:
					'Whether a second delivery of the same run and event is answered 200 without starting the workflow again. The last few thousand deliveries are remembered.',
			},
		],
	},
];
