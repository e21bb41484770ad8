/**
 * actions/properties.ts, the node's fields in editor order: every resource offers its operations,
 * each with the action text n8n's node panel lists, and every field is shown for a resource and
 * operation that exist (a field shown for a misspelt operation is never seen).
 */
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { properties } from '../../../nodes/WebScrapeAi/actions/properties';

const resourceField = properties.find((field) => field.name === 'resource')!;
const resources = (resourceField.options as INodePropertyOptions[]).map((option) => option.value);
const operationFields = properties.filter((field) => field.name === 'operation');
const operationsOf = (resource: unknown) =>
	operationFields
		.filter((field) => field.displayOptions?.show?.resource?.includes(resource as string))
		.flatMap((field) => field.options as INodePropertyOptions[]);

test.each(resources.map((resource) => [resource]))(
	'resource %s: one operation field, each operation with an action, its default among them',
	(resource) => {
		const fields = operationFields.filter((field) =>
			field.displayOptions?.show?.resource?.includes(resource as string),
		);
		expect(fields).toHaveLength(1);
		const options = operationsOf(resource);
		expect(options.length).toBeGreaterThan(0);
		for (const option of options) expect(option.action).toMatch(/^[A-Z]/);
		expect(options.map((option) => option.value)).toContain(fields[0].default);
	},
);

test('the five operations README lists, and no other', () => {
	const all = resources.flatMap((resource) =>
		operationsOf(resource).map((option) => `${String(resource)}.${String(option.value)}`),
	);
	expect(all.sort()).toEqual(['page.extract', 'page.scrape', 'recipe.run', 'run.get', 'usage.get']);
});

test('every field is shown for a resource and operation that exist', () => {
	const wrong: string[] = [];
	const check = (field: INodeProperties) => {
		const show = field.displayOptions?.show ?? {};
		const forResources = (show.resource as string[] | undefined) ?? resources;
		for (const resource of show.resource ?? [])
			if (!resources.includes(resource as string))
				wrong.push(`${field.name}: resource ${String(resource)}`);
		for (const operation of show.operation ?? []) {
			const known = forResources.some((resource) =>
				operationsOf(resource).some((option) => option.value === operation),
			);
			if (!known) wrong.push(`${field.name}: operation ${String(operation)}`);
		}
	};
	for (const field of properties) check(field);
	expect(wrong).toEqual([]);
});
