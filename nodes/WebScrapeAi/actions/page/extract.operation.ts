import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { pageUrlField, sharedPageOptions } from './fields';
import { executePageRequests } from './pageRequests';
import { optionsCollection } from '../shared/options.description';

const show = { resource: ['page'], operation: ['extract'] };

export const description: INodeProperties[] = [
	pageUrlField(show, 'The page to read (absolute http or https URL)'),
	{
		displayName: 'Prompt',
		name: 'prompt',
		type: 'string',
		required: true,
		default: '',
		typeOptions: { rows: 3 },
		placeholder: 'List every product with its name, price and availability',
		displayOptions: { show },
		description: 'What to extract from the page, in plain English',
	},
	{
		displayName: 'Output Schema',
		name: 'outputSchema',
		type: 'json',
		default: '',
		placeholder:
			'{ "type": "object", "properties": { "products": { "type": "array", "items": { "type": "object", "properties": { "name": { "type": "string" }, "price": { "type": "number" } }, "required": ["name", "price"] } } } }',
		displayOptions: { show },
		description:
			'Optional JSON Schema the result must match. webscrape.ai validates it and tries one repair; if the page still does not match, the item fails. Leave empty for free-form JSON.',
	},
	optionsCollection(show, [
		{
			displayName: 'Page Complexity',
			name: 'pageComplexity',
			type: 'options',
			default: 'low',
			options: [
				{ name: 'Low', value: 'low' },
				{ name: 'High', value: 'high', description: 'For long or intricate pages' },
			],
		},
		{
			displayName: 'Detail Level',
			name: 'detailLevel',
			type: 'options',
			default: 'medium',
			options: [
				{ name: 'Low', value: 'low' },
				{ name: 'Medium', value: 'medium' },
				{ name: 'High', value: 'high' },
			],
		},
		{
			displayName: 'Plain Text',
			name: 'plainText',
			type: 'boolean',
			default: false,
			description:
				'Whether to return the result as plain text instead of JSON (the schema is then ignored)',
		},
		{
			displayName: 'Reduce Content',
			name: 'reduceContent',
			type: 'boolean',
			default: false,
			description: 'Whether to trim the page before extraction, for very large pages',
		},
		{
			displayName: 'Experimental',
			name: 'experimental',
			type: 'boolean',
			default: false,
			description: "Whether to use webscrape.ai's experimental extraction",
		},
		...sharedPageOptions,
	]),
];

const OPTION_FIELDS = {
	pageComplexity: 'page_complexity',
	detailLevel: 'detail_level',
	plainText: 'plain_text',
	parseMode: 'parse_mode',
	includeTags: 'include_tags',
	excludeTags: 'exclude_tags',
	reduceContent: 'reduce_content',
	experimental: 'experimental',
	headers: 'headers',
	maxAge: 'max_age',
	stealth: 'stealth',
};

/** The schema as an object: the editor passes a JSON string, AI agents often pass the object itself. */
function outputSchema(context: IExecuteFunctions, itemIndex: number): IDataObject | undefined {
	const node = context.getNode();
	let value: unknown = context.getNodeParameter('outputSchema', itemIndex, '');
	if (typeof value === 'string') {
		if (value.trim() === '') return undefined;
		try {
			value = JSON.parse(value);
		} catch (error) {
			throw new NodeOperationError(node, `Output Schema is not valid JSON [item ${itemIndex}]`, {
				itemIndex,
				description: `${(error as Error).message}. Paste a JSON Schema such as {"type": "object", "properties": {"title": {"type": "string"}}}.`,
			});
		}
	}
	if (value === null || value === undefined) return undefined;
	if (typeof value !== 'object' || Array.isArray(value)) {
		throw new NodeOperationError(
			node,
			`Output Schema must be a JSON object (a JSON Schema) [item ${itemIndex}]`,
			{
				itemIndex,
				description: `Got ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}. Use an object such as {"type": "object", "properties": {...}}.`,
			},
		);
	}
	return Object.keys(value).length > 0 ? (value as IDataObject) : undefined;
}

/** Extracts structured JSON from one page per input item, following the prompt (and schema). */
export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	const node = this.getNode();
	return await executePageRequests.call(
		this,
		items,
		'/smartscraper',
		OPTION_FIELDS,
		(itemIndex) => {
			const body: IDataObject = {};
			const prompt = String(this.getNodeParameter('prompt', itemIndex, '') ?? '').trim();
			if (!prompt) {
				throw new NodeOperationError(node, `Prompt is empty [item ${itemIndex}]`, {
					itemIndex,
					description: 'Say in plain English what to extract from the page.',
				});
			}
			body.user_prompt = prompt;
			const schema = outputSchema(this, itemIndex);
			if (schema) body.output_schema = schema;
			return body;
		},
	);
}
