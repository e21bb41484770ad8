import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { pageUrlField, sharedPageOptions } from './fields';
import { executePageRequests } from './pageRequests';
import { optionsCollection } from '../shared/options.description';

const show = { resource: ['page'], operation: ['scrape'] };
export const description: INodeProperties[] = [
	{
		displayName:
			'Scrape fetches a static page for 1 credit (3 with stealth), half the price of a SmartBrowse page. Use a recipe only where the page needs clicks, typing, a login or pagination.',
		name: 'scrapeNotice',
		type: 'notice',
		default: '',
		displayOptions: { show },
	},
	pageUrlField(show, 'The page to fetch (absolute http or https URL). PDFs come back as markdown.'),
	{
		displayName: 'Format',
		name: 'format',
		type: 'options',
		default: 'html',
		displayOptions: { show },
		options: [
			{ name: 'HTML', value: 'html', description: 'The raw HTML of the page' },
			{
				name: 'Markdown',
				value: 'markdown',
				description:
					'Cleaned markdown in "cleaned" (besides the HTML): smaller, and easier for AI models to read',
			},
		],
	},
	optionsCollection(show, [
		{
			displayName: 'Extract Links',
			name: 'extractLinks',
			type: 'boolean',
			default: false,
			description: 'Whether to also return the de-duplicated outbound links of the page',
		},
		{
			displayName: 'Replace Images with Alt Text',
			name: 'tagTruncate',
			type: 'boolean',
			default: true,
			description: 'Whether markdown cleaning replaces inline images with their alt text',
		},
		...sharedPageOptions,
	]),
];

const OPTION_FIELDS = {
	extractLinks: 'extract_links',
	parseMode: 'parse_mode',
	tagTruncate: 'tag_truncate',
	includeTags: 'include_tags',
	excludeTags: 'exclude_tags',
	headers: 'headers',
	maxAge: 'max_age',
	stealth: 'stealth',
};

/** Fetches one page per input item: its HTML (or markdown), links and metadata. */
export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	return await executePageRequests.call(this, items, '/scrape', OPTION_FIELDS, (itemIndex) =>
		this.getNodeParameter('format', itemIndex, 'html') === 'markdown' ? { clean: true } : {},
	);
}
