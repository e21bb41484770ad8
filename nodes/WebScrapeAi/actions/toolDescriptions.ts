import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_TOOL_ROW_LIMIT, DEFAULT_TOOL_WAIT_S } from '../runs';

/**
 * What a model reads about each operation when the node runs as a tool (AI Agent, MCP Server
 * Trigger). n8n's own default would be the action's name ("Run a recipe in WebScrape AI"); a model
 * needs to know what a call costs, how long it takes and what comes back, and it repeats these
 * to its user, so they follow the API documentation's credit table (test/tool/costs.test.ts holds
 * them to the README's). Each is a default of the node's "Description" field in its tool variant.
 */
export const TOOL_DESCRIPTIONS: Record<string, string> = {
	'recipe.run': `Runs a webscrape.ai SmartBrowse recipe (a browsing task the user recorded in the webscrape.ai studio) in a real browser and returns the rows it extracted, one JSON object per row (at most ${DEFAULT_TOOL_ROW_LIMIT}, then a note with the run ID and the total). Each call starts one run: it uses one run of the user's 30-day SmartBrowse quota and costs 2 credits per page extracted, billed only if the run completes. A run takes from seconds to 15 minutes: if it is still going after ${DEFAULT_TOOL_WAIT_S} s, the answer is its run ID and a note; then get the rows with the tool that gets a run, and do not run the recipe again.`,
	'run.get': `Reads a webscrape.ai SmartBrowse run by its run ID: the rows it extracted once it completed (at most ${DEFAULT_TOOL_ROW_LIMIT}, then a note), its error if it failed, or, if it is still going after up to ${DEFAULT_TOOL_WAIT_S} s of waiting, its status and a note. Free: costs no credits and no run.`,
	'usage.get':
		"Reads the user's webscrape.ai SmartBrowse usage: runs used in the last 30 days, the plan's caps and the credit balance. Free.",
	'page.scrape':
		'Fetches one web page as it is served (no clicks, no login) and returns its content, with its title and links. Costs 1 webscrape.ai credit per page (3 with stealth). Answers in one request.',
	'page.extract':
		'Reads one web page and returns the data the prompt asks for as JSON (field result). Costs 5 webscrape.ai credits per page (10 with stealth). Answers in one request.',
};

/** The tool variant's "Description" field, one default per operation (hidden in workflows). */
export const toolDescriptionFields: INodeProperties[] = Object.entries(TOOL_DESCRIPTIONS).map(
	([key, text]) => {
		const [resource, operation] = key.split('.');
		return {
			displayName: 'Description',
			name: 'toolDescription',
			type: 'string',
			default: text,
			required: true,
			typeOptions: { rows: 3 },
			displayOptions: { show: { '@tool': [true], resource: [resource], operation: [operation] } },
			description:
				'What the AI model reads about this tool: what it does, what it costs and what it returns',
		};
	},
);
