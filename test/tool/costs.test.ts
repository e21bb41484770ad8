/**
 * What a model is told a call costs must be what the README's credit table (from the API
 * documentation) says: the node's default tool descriptions, the MCP example's tool descriptions
 * and the editor's operation descriptions are held to it, so they cannot drift apart again.
 */
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { fs, PACKAGE_ROOT, path, requireModule } from '../harness/host';

const { readFileSync } = fs;
const { join } = path;
const { TOOL_DESCRIPTIONS } = requireModule<{ TOOL_DESCRIPTIONS: Record<string, string> }>(
	join(PACKAGE_ROOT, 'dist/nodes/WebScrapeAi/actions/toolDescriptions.js'),
);
const { properties } = requireModule<{ properties: INodeProperties[] }>(
	join(PACKAGE_ROOT, 'dist/nodes/WebScrapeAi/actions/properties.js'),
);

/** Credit figures in a text, in order: "2 credits per page", "5 … credits", "(10 with stealth)". */
function creditFigures(text: string): number[] {
	return [...text.matchAll(/(\d+)(?: webscrape\.ai)? credits?\b|\((\d+) with stealth\)/g)].map(
		(match) => Number(match[1] ?? match[2]),
	);
}

/** The README's "Credits per operation" table: operation (resource.operation) → figures. */
function readmeCredits(): Record<string, { figures: number[]; free: boolean }> {
	const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
	const section = readme.split('## Credits per operation')[1].split('\n## ')[0];
	const table: Record<string, { figures: number[]; free: boolean }> = {};
	for (const line of section.split('\n')) {
		const cells = line.split('|').map((cell) => cell.trim());
		if (cells.length < 4 || !cells[1].includes('→')) continue;
		const cost = cells[2];
		const figures = [...cost.matchAll(/(\d+)/g)].map((match) => Number(match[1]));
		for (const name of cells[1].split(',')) {
			const [resource, operation] = name.split('→').map((part) => part.trim().toLowerCase());
			if (!operation) continue;
			table[`${resource}.${operation}`] = { figures, free: cost === '0' };
		}
	}
	return table;
}

const operationDescription = (key: string): string => {
	const [resource, operation] = key.split('.');
	const field = properties.find(
		(property) =>
			property.name === 'operation' && property.displayOptions?.show?.resource?.[0] === resource,
	);
	const options = (field?.options ?? []) as INodePropertyOptions[];
	return options.find((option) => option.value === operation)?.description ?? '';
};

const example = JSON.parse(
	readFileSync(join(PACKAGE_ROOT, 'examples/ai-tools-over-mcp.json'), 'utf8'),
) as { nodes: Array<{ type: string; parameters: Record<string, string> }> };

describe('the costs a model and a user are told match the README credit table', () => {
	const table = readmeCredits();

	test('the table covers every operation', () => {
		expect(Object.keys(table).sort()).toEqual(Object.keys(TOOL_DESCRIPTIONS).sort());
		expect(table['recipe.run'].figures).toEqual([2]);
		expect(table['page.extract'].figures).toEqual([5, 10]);
	});

	test.each(Object.keys(TOOL_DESCRIPTIONS))(
		'%s: default tool description and editor description',
		(key) => {
			const { figures, free } = table[key];
			for (const text of [TOOL_DESCRIPTIONS[key], operationDescription(key)]) {
				if (free) {
					expect(text).toMatch(/\bFree\b/);
					expect(creditFigures(text)).toEqual([]);
				} else {
					expect(creditFigures(text)).toEqual(figures);
				}
			}
		},
	);

	test('every tool of the MCP example states the same costs', () => {
		const tools = example.nodes.filter((node) => node.type.endsWith('.webScrapeAiTool'));
		expect(tools).toHaveLength(4);
		for (const tool of tools) {
			const { resource, operation, toolDescription } = tool.parameters;
			const { figures, free } = table[`${resource}.${operation}`];
			if (free) expect(toolDescription).toMatch(/\bFree\b/);
			else expect(creditFigures(toolDescription)).toEqual(figures);
		}
	});
});
