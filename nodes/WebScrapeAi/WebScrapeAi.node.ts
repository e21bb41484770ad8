import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';

import { actionBuilderHint } from './actions/builderHints';
import { properties } from './actions/properties';
import { router } from './actions/router';
import { MAIN_CONNECTION } from './core/connections';

export class WebScrapeAi implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WebScrape AI',
		name: 'webScrapeAi',
		icon: { light: 'file:webscrapeai.svg', dark: 'file:webscrapeai.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Run webscrape.ai SmartBrowse recipes, scrape pages and extract data with AI',
		defaults: { name: 'WebScrape AI' },
		usableAsTool: true,
		builderHint: actionBuilderHint,
		inputs: [MAIN_CONNECTION],
		outputs: [MAIN_CONNECTION],
		credentials: [{ name: 'webScrapeAiApi', required: true }],
		properties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
