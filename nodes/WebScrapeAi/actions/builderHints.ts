// What n8n 2.x's AI workflow builder reads about the two nodes (`builderHint`, ignored by 1.x): when
// to use each and how they go together. Plain objects, not typed literals: the n8n-workflow the
// package builds against names the general hint `message`, the one 2.x runs `searchHint`, and
// both read `relatedNodes`.

const ACTION = 'n8n-nodes-webscrape-ai.webScrapeAi';
const TRIGGER = 'n8n-nodes-webscrape-ai.webScrapeAiTrigger';

export const actionBuilderHint = {
	searchHint:
		"Use to run a webscrape.ai SmartBrowse recipe (a browsing task the user recorded in the webscrape.ai studio; ask the user for its Recipe ID, never invent one) in a real browser and get its extracted rows as items, to read a run or the plan's usage (free), or to scrape or AI-extract one page. A recipe run costs 2 credits per page extracted and can take up to 15 minutes: for many or long runs set Wait for Completion off and continue in a second workflow that starts with the WebScrape AI Trigger.",
	relatedNodes: [
		{
			nodeType: TRIGGER,
			relationHint:
				'Starts a second workflow when a run this node dispatched (Wait for Completion off) ends',
		},
	],
};

export const triggerBuilderHint = {
	searchHint:
		"Use to start a workflow when a webscrape.ai SmartBrowse run completes, fails or is cancelled (runs started by the WebScrape AI node with Wait for Completion off, or by webscrape.ai schedules). No API registers it: the user pastes this trigger's Production URL into the recipe's Webhook URL in the webscrape.ai studio. Its output is the run (Output: Run) or its rows (Output: Extracted Items).",
	relatedNodes: [
		{
			nodeType: ACTION,
			relationHint: 'Dispatches the recipe runs whose end starts this trigger',
		},
	],
};
