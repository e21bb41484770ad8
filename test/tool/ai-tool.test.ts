/**
 * The node as an AI-agent tool, through n8n-core's own tool path: an agent node asks the engine for
 * its connected tools (getInputConnectionData → createNodeAsTool), and invoking the tool runs our
 * node's execute() in a SupplyDataContext with the model's arguments ($fromAI).
 */
import type { DynamicStructuredTool } from '@langchain/core/tools';
import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import type {
	IDataObject,
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	INodeTypes,
	IRun,
	IVersionedNodeType,
} from 'n8n-workflow';
import {
	createRunExecutionData,
	deepCopy,
	NodeConnectionTypes,
	NodeHelpers,
	Workflow,
} from 'n8n-workflow';

import { additionalDataFor, loadPackage } from '../harness/engine';
import { TEST_KEY, expectNoSecret, useSimulator } from '../helpers';

const api = useSimulator();

/**
 * The tool variant n8n's loader derives for nodes with usableAsTool (n8n's createAiTools): same
 * class and execute(), description renamed "...Tool" with an ai_tool output and a tool description.
 */
function toolVariantOf(nodeType: INodeType): INodeType {
	const description = deepCopy(nodeType.description) as INodeTypeDescription;
	expect(description.usableAsTool).toBe(true);
	description.name += 'Tool';
	description.displayName += ' Tool';
	description.inputs = [];
	description.outputs = [NodeConnectionTypes.AiTool];
	delete description.usableAsTool;
	description.properties = [
		{
			displayName: 'Description',
			name: 'toolDescription',
			type: 'string',
			default: description.description,
		},
		...description.properties,
	];
	const variant = Object.create(nodeType) as INodeType;
	variant.description = description;
	return variant;
}

/** A minimal agent: calls each connected tool once with the arguments in its input item. */
class ToyAgent implements INodeType {
	description = {
		displayName: 'Toy Agent',
		name: 'toyAgent',
		group: ['transform'],
		version: 1,
		description: '',
		defaults: { name: 'Toy Agent' },
		inputs: [NodeConnectionTypes.Main, { type: NodeConnectionTypes.AiTool, displayName: 'Tools' }],
		outputs: [NodeConnectionTypes.Main],
		properties: [],
	} as unknown as INodeTypeDescription;

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const tools = (await this.getInputConnectionData(
			NodeConnectionTypes.AiTool,
			0,
		)) as DynamicStructuredTool[];
		const args = this.getInputData()[0].json;
		const results = [];
		for (const tool of tools) {
			const schema = Object.keys((tool.schema as any).shape ?? {});
			const answer = await tool.invoke(args);
			results.push({
				json: {
					tool: tool.name,
					description: tool.description,
					schema,
					answer: JSON.parse(answer as string),
				},
			});
		}
		return [results];
	}
}

async function runAgentWithTool(toolParameters: Record<string, unknown>, toolArgs: IDataObject) {
	const { nodeTypes, credentialTypes } = await loadPackage();
	const actionType = nodeTypes.getByNameAndVersion(
		'n8n-nodes-webscrape-ai.webScrapeAi',
		1,
	) as INodeType;
	const types: Record<string, INodeType | IVersionedNodeType> = {
		'n8n-nodes-webscrape-ai.webScrapeAiTool': toolVariantOf(actionType),
		'test.toyAgent': new ToyAgent(),
	};
	const allTypes: INodeTypes = {
		getByName: (type) => types[type],
		getByNameAndVersion: (type, version) => NodeHelpers.getVersionedNodeType(types[type], version),
		getKnownTypes: () => ({}),
	};
	const agent: INode = {
		id: 'agent',
		name: 'Agent',
		type: 'test.toyAgent',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const tool: INode = {
		id: 'tool',
		name: 'WebScrape AI',
		type: 'n8n-nodes-webscrape-ai.webScrapeAiTool',
		typeVersion: 1,
		position: [0, 0],
		parameters: toolParameters as INode['parameters'],
		credentials: { webScrapeAiApi: { id: 'cred-1', name: 'WebScrape AI account' } },
	};
	const connections = {
		'WebScrape AI': { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
	};
	const workflow = new Workflow({
		id: 'wf',
		nodes: [agent, tool],
		connections: connections as any,
		active: false,
		nodeTypes: allTypes,
	});
	const hooks = new ExecutionLifecycleHooks('manual', 'exec', {
		id: 'wf',
		nodes: [agent, tool],
		connections,
	} as never);
	let finished: IRun | undefined;
	hooks.addHandler('workflowExecuteAfter', (run: IRun) => {
		finished = run;
	});
	const additionalData = additionalDataFor(
		{ apiKey: TEST_KEY, baseUrl: api.baseUrl },
		credentialTypes,
		hooks,
	);
	const runData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node: agent, data: { main: [[{ json: toolArgs }]] }, source: null }],
		},
	});
	const returned = await new WorkflowExecute(
		additionalData,
		'manual',
		runData,
	).processRunExecutionData(workflow);
	const run = finished ?? returned;
	api.seen.push(run.data.resultData);
	return run;
}

describe('the action node as an AI-agent tool', () => {
	beforeAll(() => api.sim.addRecipe('toolRecipe1', { durationMs: 300, pages: 1, itemsPerPage: 2 }));

	test('Recipe → Run as a tool: the model passes the recipe ID, the answer is the rows', async () => {
		const run = await runAgentWithTool(
			{
				resource: 'recipe',
				operation: 'run',
				recipeId: "={{ $fromAI('recipeId', 'The webscrape.ai recipe to run', 'string') }}",
				options: { pollInterval: 0.2 },
			},
			{ recipeId: 'toolRecipe1' },
		);
		expect(run.data.resultData.error).toBeUndefined();
		const out = run.data.resultData.runData.Agent[0].data!.main[0]![0].json as any;
		expect(out.tool).toBe('WebScrape_AI');
		expect(out.schema).toEqual(['recipeId']);
		expect(out.answer).toEqual([
			{ name: 'Product 1-1', price: 10, url: 'https://shop.example/toolRecipe1/p1/1' },
			{ name: 'Product 1-2', price: 11.25, url: 'https://shop.example/toolRecipe1/p1/2' },
		]);
	});

	test('Page → Scrape as a tool: the model passes a URL and gets the page data', async () => {
		const run = await runAgentWithTool(
			{
				resource: 'page',
				operation: 'scrape',
				url: "={{ $fromAI('url', 'The page to fetch', 'string') }}",
				format: 'markdown',
			},
			{ url: 'https://example.com/a' },
		);
		expect(run.data.resultData.error).toBeUndefined();
		const out = run.data.resultData.runData.Agent[0].data!.main[0]![0].json as any;
		expect(out.answer[0]).toMatchObject({
			cleaned: expect.stringContaining('# Hello'),
			credits_used: 1,
		});
		expect(api.sim.requests('scrape').slice(-1)[0].body).toEqual({
			website_url: 'https://example.com/a',
			clean: true,
		});
	});

	test('Page → Extract as a tool accepts the schema as an object', async () => {
		const schema = { type: 'object', properties: { title: { type: 'string' } } };
		const run = await runAgentWithTool(
			{
				resource: 'page',
				operation: 'extract',
				url: 'https://example.com/a',
				prompt: "={{ $fromAI('prompt', 'What to extract', 'string') }}",
				outputSchema: "={{ $fromAI('schema', 'JSON schema of the result', 'json') }}",
			},
			{ prompt: 'the title', schema },
		);
		expect(run.data.resultData.error).toBeUndefined();
		const out = run.data.resultData.runData.Agent[0].data!.main[0]![0].json as any;
		expect(out.answer[0].result).toEqual({ title: 'example' });
	});

	test('the API key appears in no output, error or log line', () => {
		expectNoSecret(api.seen);
	});
});
