/**
 * The node as an AI-agent tool, through n8n-core's own tool path: an agent node asks the engine for
 * its connected tools (getInputConnectionData → createNodeAsTool), and invoking the tool runs our
 * node's execute() in a SupplyDataContext with the model's arguments ($fromAI).
 */
import type { DynamicStructuredTool } from '@langchain/core/tools';
import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import type {
	IConnections,
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
import { FAST, TEST_KEY, expectNoSecret, sleepMs, useSimulator } from '../helpers';

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
	// n8n adds its own Description field only when the node has none.
	if (!description.properties.some((property) => property.name === 'toolDescription')) {
		description.properties = [
			{
				displayName: 'Description',
				name: 'toolDescription',
				type: 'string',
				default: description.description,
			},
			...description.properties,
		];
	}
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
		// `_calls`: the model calls the tool once per entry, in one execution (an agent's loop).
		const calls = Array.isArray(args._calls) ? (args._calls as IDataObject[]) : [args];
		const results = [];
		for (const tool of tools) {
			const schema = Object.keys((tool.schema as { shape?: object }).shape ?? {});
			const answers = [];
			for (const call of calls) answers.push(JSON.parse((await tool.invoke(call)) as string));
			results.push({
				json: {
					tool: tool.name,
					description: tool.description,
					schema,
					answer: answers.length === 1 ? answers[0] : answers,
				},
			});
		}
		return [results];
	}
}

async function runAgentWithTool(
	toolParameters: Record<string, unknown>,
	toolArgs: IDataObject,
	nodeSettings: Partial<INode> = {},
) {
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
		...nodeSettings,
	};
	const connections = {
		'WebScrape AI': { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] },
	};
	const workflow = new Workflow({
		id: 'wf',
		nodes: [agent, tool],
		connections: connections as IConnections,
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
		const out = agentOutput(run);
		expect(out.tool).toBe('WebScrape_AI');
		// With its default options the model reads what a call costs, takes and returns.
		expect(out.description).toMatch(
			/^Runs a webscrape\.ai SmartBrowse recipe .* costs 2 credits per page extracted, billed only if the run completes\. A run takes from seconds to 15 minutes: if it is still going after 45 s, the answer is its run ID and a note/,
		);
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
		const out = agentOutput(run);
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
		const out = agentOutput(run);
		expect(out.answer[0].result).toEqual({ title: 'example' });
	});

	test('a call past the budget is answered in words the model can act on, not an error; nothing is sent', async () => {
		// The model calls the tool three times in one agent execution: the budget spans the calls.
		const extract = {
			resource: 'page',
			operation: 'extract',
			url: "={{ $fromAI('url', 'The page', 'string') }}",
			prompt: 'The title',
			options: { maxCredits: 10 },
		};
		const extractsBefore = api.sim.requests('extract').length;
		const calls = [1, 2, 3].map((page) => ({ url: `https://example.com/budget/${page}` }));
		const run = await runAgentWithTool(extract, { _calls: calls });
		expect(run.data.resultData.error).toBeUndefined();
		expect(api.sim.requests('extract').length - extractsBefore).toBe(2);
		const answers = agentOutput(run).answer;
		expect(answers[0][0].credits_used).toBe(5);
		expect(answers[1][0].credits_used).toBe(5);
		expect(answers[2]).toEqual([
			{
				budget_reached: true,
				note: 'Budget of 10 credits for this execution reached: spent 10. This request (up to 5 credits) was not sent and nothing was billed for it. Do not call again: further calls are refused too until the budget ("Max Credits") is raised.',
			},
		]);
	});

	test('the API key appears in no output, error or log line', () => {
		expectNoSecret(api.seen);
	});
});

/** A parsed JSON answer, indexable as deep as the assertions reach. */
interface Json {
	[key: string]: Json;
	[index: number]: Json;
}

/** What the toy agent emits: its tool's name, description, argument names and answers. */
interface AgentOutput {
	tool: string;
	description: string;
	schema: string[];
	answer: Json;
}

function agentOutput(run: IRun): AgentOutput {
	return run.data.resultData.runData.Agent[0].data!.main[0]![0].json as unknown as AgentOutput;
}

/** The tool's answer to the agent: what the model reads. */
function answerOf(run: IRun): IDataObject[] {
	expect(run.data.resultData.error).toBeUndefined();
	return agentOutput(run).answer as unknown as IDataObject[];
}

const runAsTool = (recipeId: string, options: IDataObject) =>
	runAgentWithTool(
		{
			resource: 'recipe',
			operation: 'run',
			recipeId: "={{ $fromAI('recipeId', 'The webscrape.ai recipe to run', 'string') }}",
			options,
		},
		{ recipeId },
	);

const getAsTool = (runId: string, options: IDataObject) =>
	runAgentWithTool(
		{
			resource: 'run',
			operation: 'get',
			runId: "={{ $fromAI('runId', 'The run to read', 'string') }}",
			options,
		},
		{ runId },
	);

/** Runs the simulator created for `recipeId` (what is billed, if they complete). */
const runsOf = (recipeId: string) =>
	[...api.sim.runs.values()].filter((run) => run.recipeId === recipeId).length;

const dispatchesOf = (recipeId: string) =>
	api.sim.requests('dispatch').filter((entry) => entry.path.includes(`/recipes/${recipeId}/`));

describe('a long run as a tool: bounded waits, a note, no second paid run', () => {
	const TOOL_WAIT = { ...FAST, toolWait: 1 };
	beforeAll(() => {
		api.sim.addRecipe('toolLong001', { durationMs: 4000, pages: 1, itemsPerPage: 3 });
		api.sim.addRecipe('toolLong002', { durationMs: 3000, pages: 1, itemsPerPage: 2 });
	});

	test('Recipe → Run answers after the Tool Wait with the run ID, its status and the note; a repeat names that run; Run → Get returns the rows once it ends; the next call starts a new run', async () => {
		let started = Date.now();
		const first = answerOf(await runAsTool('toolLong001', TOOL_WAIT));
		const firstMs = Date.now() - started;
		expect(firstMs).toBeGreaterThanOrEqual(900);
		expect(firstMs).toBeLessThan(2500);
		expect(first).toHaveLength(1);
		const runId = first[0].run_id as string;
		expect(runId).toMatch(/^\w+$/);
		expect(first[0].status).toBe('running');
		expect(first[0].note).toBe(
			`Run ${runId} is still running at webscrape.ai after 1 s of waiting. It goes on by itself and costs nothing more to wait for; a run can take up to 15 minutes. To get its rows, call the tool that gets a webscrape.ai run (WebScrape AI → Run → Get) with run ID ${runId}, for example in a minute; it costs nothing. Do not run the recipe again to get them: that would start, and bill, a second run.`,
		);
		expect(dispatchesOf('toolLong001')).toHaveLength(1);

		// The model calls the recipe again while the run is in progress: the same run, no dispatch.
		const repeat = answerOf(await runAsTool('toolLong001', TOOL_WAIT));
		expect(repeat).toHaveLength(1);
		expect(repeat[0].run_id).toBe(runId);
		expect(repeat[0].note).toMatch(
			new RegExp(
				`^This recipe's run ${runId}, started by this tool \\d+ s ago, is still in progress, so no second run was started \\(it would be billed again\\)\\. Run ${runId} is still running`,
			),
		);
		expect(dispatchesOf('toolLong001')).toHaveLength(1);

		// Run → Get while the run goes on: bounded too, with its own note.
		started = Date.now();
		const pending = answerOf(await getAsTool(runId, TOOL_WAIT));
		expect(Date.now() - started).toBeLessThan(2500);
		expect(pending).toEqual([
			{
				run_id: runId,
				status: 'running',
				note: expect.stringMatching(
					new RegExp(
						`Call this tool again with run ID ${runId} in a minute to get its rows; it costs nothing\\.$`,
					),
				),
			},
		]);

		// Once the run has ended, Run → Get returns its rows at once.
		await sleepMs(1500);
		const rows = answerOf(await getAsTool(runId, TOOL_WAIT));
		expect(rows.map((row) => row.name)).toEqual(['Product 1-1', 'Product 1-2', 'Product 1-3']);
		// A caller now has the run's end: asking for the recipe again is a new run.
		const next = answerOf(await runAsTool('toolLong001', TOOL_WAIT));
		expect(next[0].run_id).not.toBe(runId);
		expect(dispatchesOf('toolLong001')).toHaveLength(2);
	});

	test('a repeat that comes after the run ended gets its rows, still without a second run', async () => {
		const first = answerOf(await runAsTool('toolLong002', TOOL_WAIT));
		expect(first[0].status).toBe('running');
		await sleepMs(2500);
		const repeat = answerOf(await runAsTool('toolLong002', TOOL_WAIT));
		expect(repeat.map((row) => row.name)).toEqual(['Product 1-1', 'Product 1-2']);
		expect(dispatchesOf('toolLong002')).toHaveLength(1);
	});

	test('a call that found no free slot of the plan within the Tool Wait started nothing: the next call starts the run', async () => {
		api.sim.addRecipe('toolBusy001', { durationMs: 200, pages: 1, itemsPerPage: 1 });
		const account = api.sim.account();
		account.maxConcurrent = 1;
		api.sim.occupy(1, 1500);
		const slotFreeAt = Date.now() + 1500;
		try {
			const busy = await runAgentWithTool(
				{
					resource: 'recipe',
					operation: 'run',
					recipeId: "={{ $fromAI('recipeId', 'The recipe', 'string') }}",
					options: TOOL_WAIT,
				},
				{ recipeId: 'toolBusy001' },
			);
			expect(JSON.stringify(busy.data.resultData)).toMatch(/Could not start the run of recipe/);
			expect(dispatchesOf('toolBusy001').filter((entry) => entry.status === 202)).toHaveLength(0);
			// The refused call may end at once (its backoff past the Tool Wait) or after it: wait for the
			// occupied slot to be free either way.
			await sleepMs(Math.max(0, slotFreeAt - Date.now()) + 300);
			const rows = answerOf(await runAsTool('toolBusy001', TOOL_WAIT));
			expect(rows).toHaveLength(1);
			expect(dispatchesOf('toolBusy001').filter((entry) => entry.status === 202)).toHaveLength(1);
		} finally {
			account.maxConcurrent = undefined;
		}
	});

	test('a run that ends within the Tool Wait returns its rows (default Tool Wait)', async () => {
		const rows = answerOf(await runAsTool('toolRecipe1', FAST));
		expect(rows).toHaveLength(2);
		expect(rows[0].name).toBe('Product 1-1');
	});

	test('a Tool Wait that is not a positive number fails naming the field', async () => {
		const run = await runAsTool('toolRecipe1', { toolWait: -3 });
		const error = JSON.stringify(
			run.data.resultData.runData.Agent[0].data ?? run.data.resultData.error,
		);
		expect(error).toMatch(/Tool Wait/);
	});

	test('the API key appears in no tool answer, error or log line', () => {
		expectNoSecret(api.seen);
	});
});

describe('every outcome of a tool call is an answer in words (the agent goes on), never a throw', () => {
	beforeAll(() => {
		api.sim.addRecipe('toolFails01', {
			durationMs: 200,
			outcome: 'failed',
			error: 'login wall: the page asks to sign in',
		});
		api.sim.addRecipe('toolAnswer1', { durationMs: 200, pages: 1, itemsPerPage: 1 });
	});
	afterEach(() => api.sim.clearFaults());

	/** The one answer of a call: its `error` text, checked for what no answer may hold. */
	const errorText = (run: IRun): string => {
		const answer = answerOf(run);
		expect(answer).toHaveLength(1);
		const text = answer[0].error as string;
		expect(typeof text).toBe('string');
		expect(text.length).toBeGreaterThan(40);
		expect(text).not.toMatch(/\[item \d+\]|\n\s+at |NodeApiError|NodeOperationError/);
		return text;
	};

	test('a malformed recipe ID: what is wrong, what a valid ID looks like, nothing sent', async () => {
		const before = api.sim.requests().length;
		const text = errorText(await runAsTool('../usage?x=1', FAST));
		expect(text).toBe(
			'Recipe ID "../usage?x=1" is not a valid ID. webscrape.ai IDs contain only letters, digits, "-" and "_" (for example m3Yc2tFvN8q). Nothing was sent to webscrape.ai and nothing was billed. Call the tool again with a corrected value.',
		);
		expect(api.sim.requests().length).toBe(before);
	});

	test('a run that fails: its reason, that it cost nothing, that calling again starts and bills another run', async () => {
		const text = errorText(await runAsTool('toolFails01', FAST));
		expect(text).toMatch(
			/^Run \w+ failed: login wall: the page asks to sign in\. It cost nothing: webscrape\.ai bills no failed or cancelled run\. Calling this tool again starts a new run, billed if it completes/,
		);
		expect(dispatchesOf('toolFails01')).toHaveLength(1);
	});

	test('with Retry On Fail set on the tool, a failed run is answered once: n8n does not call the tool again', async () => {
		const before = dispatchesOf('toolFails01').length;
		const run = await runAgentWithTool(
			{
				resource: 'recipe',
				operation: 'run',
				recipeId: "={{ $fromAI('recipeId', 'The recipe', 'string') }}",
				options: FAST,
			},
			{ recipeId: 'toolFails01' },
			{ retryOnFail: true, maxTries: 3, waitBetweenTries: 0 },
		);
		expect(errorText(run)).toMatch(/^Run \w+ failed: login wall/);
		expect(dispatchesOf('toolFails01')).toHaveLength(before + 1);
	});

	test.each([
		[
			'too few credits (402): balance and need, top up',
			{
				type: 'status',
				status: 402,
				code: 'insufficient_credits',
				details: { balance: 1, required: 2 },
			},
			/^Not enough webscrape\.ai credits: balance 1, this request needs 2\. Top up in the webscrape\.ai dashboard \(Billing\)\. .*Calling again will fail the same way until the account is topped up: tell the user\.$/,
		],
		[
			'a rejected key (401): the user fixes the credential',
			{ type: 'plain401' },
			/^webscrape\.ai rejected the API key\. .*tell the user to fix the WebScrape AI credential in n8n\.$/,
		],
		[
			'the 30-day quota (429): which limit, when to try again',
			{ type: 'rate_limited', reason: 'sb_runs_per_month' },
			/^Your SmartBrowse run quota is used up.*Calling again will fail until older runs leave the 30-day window: tell the user\.$/,
		],
		[
			'the answer lost after the run was created: do not run it again',
			{ type: 'reset-after' },
			/^The run of recipe "toolAnswer1" may have started, but webscrape\.ai's answer was lost\. It was not sent again\. Do not call this tool again for the same request: that could start, and bill, a second run or request\./,
		],
	])('%s', async (_label, fault, expected) => {
		api.sim.fault({ route: 'dispatch', times: 5, ...(fault as object) } as never);
		const runsBefore = runsOf('toolAnswer1');
		const text = errorText(await runAsTool('toolAnswer1', FAST));
		expect(text).toMatch(expected);
		// One call, at most one run: none of these starts a second.
		expect(runsOf('toolAnswer1') - runsBefore).toBeLessThanOrEqual(1);
	});

	test('the 30-day quota used up, seen before sending ("Check Quota First"): tell the user, not a corrected value', async () => {
		const account = api.sim.account();
		const saved = { ...account };
		account.runsCap = account.runsUsed30d;
		try {
			const dispatches = dispatchesOf('toolAnswer1').length;
			const text = errorText(await runAsTool('toolAnswer1', FAST));
			expect(text).toMatch(
				/^Only 0 SmartBrowse runs remain in your 30-day quota, but 1 would start, so none was started\. \d+ of \d+ runs were used in the last 30 days\. Nothing was sent to webscrape\.ai and nothing was billed\. Calling again will be refused the same way until that changes: tell the user\.$/,
			);
			expect(dispatchesOf('toolAnswer1')).toHaveLength(dispatches);
		} finally {
			Object.assign(account, saved);
		}
	});

	test('a run ID that is not found (404): check the ID', async () => {
		const text = errorText(await getAsTool('unknownRun1', FAST));
		expect(text).toMatch(
			/^Run "unknownRun1" was not found\. .*Call the tool again with the right ID\.$/,
		);
	});

	test('the API key appears in no answer', () => {
		expectNoSecret(api.seen);
	});
});
