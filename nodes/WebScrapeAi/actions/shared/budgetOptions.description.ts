import type { INodeProperties } from 'n8n-workflow';

/** Max Credits and Keep at Least: Recipe → Run, Page → Scrape and Page → Extract (budget/creditBudget.ts). */
export const budgetOptions: INodeProperties[] = [
	{
		displayName: 'Max Credits',
		name: 'maxCredits',
		type: 'number',
		default: 0,
		typeOptions: { minValue: 0 },
		description:
			"The most credits this node may spend in one execution (0: no cap). Before each request the node sets aside the request's highest possible cost and sends it only if that still fits, so the cap is never exceeded; items past it are not sent. As an AI tool: per execution of the agent, or per 24 hours of an MCP server's calls.",
	},
	{
		displayName: 'Keep at Least',
		name: 'keepAtLeast',
		type: 'number',
		default: 0,
		typeOptions: { minValue: 0 },
		description:
			"Credits to leave on your webscrape.ai account (0: off). A request is not sent when the account's balance minus the request's highest possible cost would go below this.",
	},
];
