import type { INodeProperties } from 'n8n-workflow';

import * as pageExtract from './page/extract.operation';
import * as pageScrape from './page/scrape.operation';
import * as recipeRun from './recipe/run.operation';
import * as runGet from './run/get.operation';
import * as usageGet from './usage/get.operation';
import { toolDescriptionFields } from './toolDescriptions';

const resourceField: INodeProperties = {
	displayName: 'Resource',
	name: 'resource',
	type: 'options',
	noDataExpression: true,
	default: 'recipe',
	options: [
		{
			name: 'Recipe',
			value: 'recipe',
			description: 'A SmartBrowse recipe recorded in the webscrape.ai studio',
		},
		{ name: 'Run', value: 'run', description: 'One run of a recipe' },
		{
			name: 'Page',
			value: 'page',
			description: 'Any web page: fetch it, or extract data from it with AI',
		},
		{ name: 'Usage', value: 'usage', description: 'Your SmartBrowse plan caps, quota and credits' },
	],
};

const operationFields: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['recipe'] } },
		default: 'run',
		options: [
			{
				name: 'Run',
				value: 'run',
				action: 'Run a recipe',
				description:
					'Start a run of a SmartBrowse recipe in a real browser and, by default, wait for its extracted rows. Costs 2 credits per page extracted, billed only when the run completes.',
			},
		],
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['run'] } },
		default: 'get',
		options: [
			{
				name: 'Get',
				value: 'get',
				action: 'Get a run',
				description:
					'Fetch a run by ID: its status, and its extracted rows once it has completed. Free.',
			},
		],
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['page'] } },
		default: 'scrape',
		options: [
			{
				name: 'Extract',
				value: 'extract',
				action: 'Extract data from a page',
				description:
					'Turn a page into JSON from a plain-English prompt, optionally validated against a JSON Schema. Costs 5 credits (10 with stealth); returns the extracted result.',
			},
			{
				name: 'Scrape',
				value: 'scrape',
				action: 'Scrape a page',
				description:
					'Fetch a static page as HTML or cleaned markdown, with its links and metadata. Costs 1 credit (3 with stealth).',
			},
		],
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['usage'] } },
		default: 'get',
		options: [
			{
				name: 'Get',
				value: 'get',
				action: 'Get usage',
				description:
					'Get the SmartBrowse runs used in the last 30 days, the plan caps and the credit balance. Free.',
			},
		],
	},
];

/** Every parameter of the node, in the order the editor shows them. */
export const properties: INodeProperties[] = [
	resourceField,
	...operationFields,
	...toolDescriptionFields,
	...recipeRun.description,
	...runGet.description,
	...usageGet.description,
	...pageScrape.description,
	...pageExtract.description,
];
