import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

/** An "Options" collection shown for one operation, its entries in alphabetical order. */
export function optionsCollection(
	show: NonNullable<IDisplayOptions['show']>,
	options: INodeProperties[],
): INodeProperties {
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show },
		options: [...options].sort((a, b) => a.displayName.localeCompare(b.displayName)),
	};
}
