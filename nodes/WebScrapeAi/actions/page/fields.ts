import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

import { budgetOptions } from '../shared/budgetOptions.description';
import { DEFAULT_PAGE_CONCURRENCY, DEFAULT_PAGE_TIMEOUT_S } from './pageRequests';

/** The URL field of a page operation. */
export function pageUrlField(
	show: NonNullable<IDisplayOptions['show']>,
	description: string,
): INodeProperties {
	return {
		displayName: 'URL',
		name: 'url',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'https://example.com/products',
		displayOptions: { show },
		description,
	};
}

/** Options Scrape and Extract share (sorted by name in the collection). */
export const sharedPageOptions: INodeProperties[] = [
	...budgetOptions,
	{
		displayName: 'Concurrency',
		name: 'concurrency',
		type: 'number',
		default: DEFAULT_PAGE_CONCURRENCY,
		typeOptions: { minValue: 1 },
		description:
			'The most requests this node sends at once. If your plan allows fewer at once, the node waits for free slots instead of failing.',
	},
	{
		displayName: 'Parse Mode',
		name: 'parseMode',
		type: 'options',
		default: 'accurate',
		options: [
			{ name: 'Accurate', value: 'accurate', description: 'Tolerates malformed pages better' },
			{ name: 'Speed', value: 'speed', description: 'Faster cleaning' },
		],
		description: 'How the page is cleaned',
	},
	{
		displayName: 'Include Tags',
		name: 'includeTags',
		type: 'string',
		default: '',
		placeholder: 'article, main, table',
		description: 'Comma-separated HTML tags to keep while cleaning; everything else is dropped',
	},
	{
		displayName: 'Exclude Tags',
		name: 'excludeTags',
		type: 'string',
		default: '',
		placeholder: 'nav, footer, script',
		description: 'Comma-separated HTML tags to drop while cleaning',
	},
	{
		displayName: 'Headers',
		name: 'headers',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Header',
		description:
			'Custom request headers forwarded to the page (for example a cookie). Requests with headers are never served from cache.',
		options: [
			{
				name: 'header',
				displayName: 'Header',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
	{
		displayName: 'Max Age (Seconds)',
		name: 'maxAge',
		type: 'number',
		default: 3600,
		typeOptions: { minValue: 0 },
		description:
			'Accept a cached copy of the page up to this old; 0 skips reading the cache but stores the result. Unset: always fetch fresh.',
	},
	{
		displayName: 'Timeout (Seconds)',
		name: 'timeout',
		type: 'number',
		default: DEFAULT_PAGE_TIMEOUT_S,
		typeOptions: { minValue: 1 },
		description:
			"How long each item may take, including waiting for your plan's per-minute and concurrency limits when a batch is larger than they allow. On expiry the item fails with the limit and the wait in the message, and nothing is billed for it.",
	},
	{
		displayName: 'Stealth',
		name: 'stealth',
		type: 'boolean',
		default: false,
		description:
			'Whether to fetch the page in stealth mode, for sites that block bots. Costs extra credits.',
	},
];
