import type {
	IExecuteFunctions,
	IHookFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';

import { triggerBuilderHint } from '../WebScrapeAi/actions/builderHints';
import { MAIN_CONNECTION } from '../WebScrapeAi/core/connections';
import { readUsage } from '../WebScrapeAi/transport';
import { dropOldDedupeList, handleDelivery } from './delivery';
import { properties } from './properties';
import { emitDeliveredRuns } from './runDetails';

export class WebScrapeAiTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WebScrape AI Trigger',
		name: 'webScrapeAiTrigger',
		icon: { light: 'file:webscrapeai.svg', dark: 'file:webscrapeai.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{"on " + $parameter["events"].join(", ")}}',
		// n8n's node panel lists the action node and this trigger as one entry headed by this
		// description (on every line), so it says what the whole package does.
		description:
			'Run webscrape.ai SmartBrowse recipes, scrape pages, extract data with AI, and start workflows when a run completes, fails or is cancelled',
		defaults: { name: 'WebScrape AI Trigger' },
		inputs: [],
		outputs: [MAIN_CONNECTION],
		credentials: [{ name: 'webScrapeAiApi', required: true }],
		builderHint: triggerBuilderHint,
		// Words that hold on every n8n line: the test button is "Listen for test event" on some
		// releases and "Execute step" or "Test this trigger" on others; a workflow goes live with
		// the Active switch on 1.x and Publish on 2.x (the 'activate' link does either).
		triggerPanel: {
			header: '',
			executionsHelp: {
				inactive:
					"<b>While building your workflow</b>, put the Test URL in the recipe's webhook in the webscrape.ai studio, start this node's test here, then run the recipe: its delivery shows up in this editor.<br /><br /><b>To run automatically</b>, put the Production URL in the recipe's webhook instead and <a data-key='activate'>make the workflow live</a> (its Active switch on n8n 1.x, Publish on 2.x). Those executions show up in the <a data-key='executions'>executions list</a>, not in the editor.",
				active:
					"<b>While building your workflow</b>, put the Test URL in the recipe's webhook in the webscrape.ai studio, start this node's test here, then run the recipe: its delivery shows up in this editor.<br /><br /><b>Your workflow also runs automatically</b>, since it is live: every run that ends and is delivered to the Production URL starts it. Those executions show up in the <a data-key='executions'>executions list</a>, not in the editor.",
			},
			activationHint:
				"Once the workflow works, <a data-key='activate'>make it live</a> (its Active switch on n8n 1.x, Publish on 2.x) and put the Production URL in the recipe's webhook, so every run that ends starts it.",
		},
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				// Answer with the node's own small body, not n8n's default (the first item).
				responseData: '',
				path: 'webhook',
			},
		],
		properties,
	};

	// webscrape.ai has no API to register webhooks (the user pastes the URL into the studio), so
	// the lifecycle is local; activation still proves the key works.
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return false;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				await readUsage.call(this, Date.now() + 20_000);
				dropOldDedupeList(this.getWorkflowStaticData('node'));
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await handleDelivery.call(this);
	}

	// n8n runs this in the execution a delivery started, with the delivery as input: the run is
	// read there, so the webhook request stays short.
	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await emitDeliveredRuns.call(this);
	}
}
