'use strict';
/**
 * n8n's own AI Agent with WebScrape AI as its tools (registered on each line's shared n8n by
 * e2e/e2e.test.js): the OpenAI Chat Model node points at a server of ours that plays the model
 * (e2e/model-stand-in.js: it calls the tool the prompt names, then answers with what the tool
 * returned). For the line's newest AI Agent (3 on 1.x, 3.1 on 2.x) and 2.2 (what workflows built
 * before 3 carry), each outcome a model meets (rows, a bad argument, a failed run, an API error,
 * an answer lost after the run was created) must reach the model in words, the agent must finish,
 * and no call may start more than one run. Each call is its own execution, started by a webhook.
 */
const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const demo = require('../demo');
const n8n = require('../n8n');
const { startModel } = require('../model-stand-in');

const MODEL_CREDENTIAL = { id: 'wsaiModelCred001', name: 'Model stand-in' };
/** The AI Agent versions tried per line: the one a user adds today, and 2.2. */
const AGENTS = { 1: ['3', '2.2'], 2: ['3.1', '2.2'] };
const workflowId = (version) => `wsaiAgentV${version.replace('.', '')}`.padEnd(16, '0');
const pathOf = (version) => `wsai-agent-v${version.replace('.', '-')}`;

function agentWorkflow(version) {
	const mcp = demo.examples().find((workflow) => workflow.id === demo.MCP_WORKFLOW_ID);
	const tools = mcp.nodes
		.filter((node) => ['Run a recipe', 'Get a run'].includes(node.name))
		.map((node, index) => ({
			...node,
			id: `a${version}-tool-${index}`,
			position: [400 + index * 200, 300],
		}));
	return {
		id: workflowId(version),
		name: `WebScrape AI as the tools of n8n's AI Agent ${version} (e2e)`,
		nodes: [
			{
				id: `a${version}-hook`,
				name: 'Prompt',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: `9a0b1c2d-3e4f-4a5b-8c6d-${version.replace('.', '').padStart(12, '0')}`,
				parameters: {
					httpMethod: 'POST',
					path: pathOf(version),
					responseMode: 'lastNode',
					options: {},
				},
			},
			{
				id: `a${version}-agent`,
				name: 'AI Agent',
				type: '@n8n/n8n-nodes-langchain.agent',
				typeVersion: Number(version),
				position: [300, 0],
				parameters: { promptType: 'define', text: '={{ $json.body.prompt }}', options: {} },
			},
			{
				id: `a${version}-model`,
				name: 'OpenAI Chat Model',
				type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
				typeVersion: 1.2,
				position: [200, 300],
				parameters: {
					model: { __rl: true, mode: 'id', value: 'gpt-4o-mini' },
					options: { maxRetries: 0 },
				},
				credentials: { openAiApi: MODEL_CREDENTIAL },
			},
			...tools,
		],
		connections: {
			Prompt: { main: [[{ node: 'AI Agent', type: 'main', index: 0 }]] },
			'OpenAI Chat Model': {
				ai_languageModel: [[{ node: 'AI Agent', type: 'ai_languageModel', index: 0 }]],
			},
			...Object.fromEntries(
				tools.map((tool) => [
					tool.name,
					{ ai_tool: [[{ node: 'AI Agent', type: 'ai_tool', index: 0 }]] },
				]),
			),
		},
		settings: { executionOrder: 'v1' },
	};
}

/** Before the shared n8n starts: the model stand-in, its credential and one workflow per agent. */
async function setup(shared, line) {
	shared.model = await startModel();
	const versions = AGENTS[line] ?? [];
	return {
		credentials: [
			demo.credential(shared.sim.baseUrl),
			{
				...MODEL_CREDENTIAL,
				type: 'openAiApi',
				data: { apiKey: 'sk-model-stand-in', url: shared.model.baseUrl },
			},
		],
		workflows: versions.map(agentWorkflow),
		activate: versions.map(workflowId),
	};
}

/** The outcomes a model meets, each with what it must be told (and what the simulator must log). */
const OUTCOMES = [
	{
		name: 'a run that completes',
		prompt: 'CALL Run_a_recipe {"Recipe_ID":"m3Yc2tFvN8q"}',
		told: /^\[\{"name":"Product 1-1","price":10,/,
		runs: 1,
	},
	{
		name: 'a malformed recipe ID',
		prompt: 'CALL Run_a_recipe {"Recipe_ID":"../usage?x=1"}',
		told: /Recipe ID \\"\.\.\/usage\?x=1\\" is not a valid ID\. webscrape\.ai IDs contain only letters, digits.*for example m3Yc2tFvN8q.*Nothing was sent to webscrape\.ai and nothing was billed/,
		runs: 0,
	},
	{
		name: 'a run that fails',
		prompt: 'CALL Run_a_recipe {"Recipe_ID":"demoFailing1"}',
		told: /Run \w+ failed: target page did not load within timeout\. It cost nothing: webscrape\.ai bills no failed or cancelled run\. Calling this tool again starts a new run/,
		runs: 1,
	},
	{
		name: 'the answer lost after the run was created',
		prompt: 'CALL Run_a_recipe {"Recipe_ID":"m3Yc2tFvN8q"}',
		fault: { route: 'dispatch', type: 'reset-after' },
		told: /The run of recipe \\"m3Yc2tFvN8q\\" may have started, but webscrape\.ai's answer was lost\. It was not sent again\. Do not call this tool again/,
		runs: 1,
	},
	{
		name: 'too few credits (402)',
		prompt: 'CALL Run_a_recipe {"Recipe_ID":"m3Yc2tFvN8q"}',
		fault: {
			route: 'dispatch',
			type: 'status',
			status: 402,
			code: 'insufficient_credits',
			details: { balance: 1, required: 2 },
		},
		told: /Not enough webscrape\.ai credits: balance 1, this request needs 2\..*until the account is topped up/,
		runs: 0,
	},
	{
		name: 'a run ID that is not found (404)',
		prompt: 'CALL Get_a_run {"Run_ID":"unknownRun1"}',
		told: /Run \\"unknownRun1\\" was not found\..*Call the tool again with the right ID/,
		runs: 0,
	},
];

function register(line, shared) {
	describe(`n8n ${n8n.LINES[line].version}: n8n's AI Agent with WebScrape AI tools`, () => {
		after(async () => await shared.model?.stop());
		const table = [];
		after(() => {
			for (const row of table) console.log(row);
		});

		for (const version of AGENTS[line] ?? []) {
			describe(`AI Agent ${version}`, () => {
				before(async () => {
					// Live once n8n knows the webhook: a GET then says it takes POST (no execution).
					await demo.until(`the AI Agent ${version} webhook`, async () => {
						const response = await fetch(`${shared.instance.baseUrl}/webhook/${pathOf(version)}`);
						return /POST/.test(await response.text());
					});
				});

				for (const outcome of OUTCOMES) {
					test(`${outcome.name}: the model is told in words, the agent finishes, at most one run`, async () => {
						const { sim, model, instance } = shared;
						const runsBefore = sim.runs.size;
						model.clear();
						if (outcome.fault) sim.fault({ times: 1, ...outcome.fault });
						try {
							const response = await fetch(`${instance.baseUrl}/webhook/${pathOf(version)}`, {
								method: 'POST',
								headers: { 'content-type': 'application/json' },
								body: JSON.stringify({ prompt: outcome.prompt }),
							});
							const text = await response.text();
							assert.equal(
								response.status,
								200,
								`the agent's execution failed: ${text.slice(0, 500)}`,
							);
							// The agent finished: its answer is the model's last message.
							assert.match(text, /TOOL ANSWERED: /);
							const told = model.toolAnswers();
							assert.equal(told.length, 1, JSON.stringify(told));
							assert.match(told[0], outcome.told);
							assert.doesNotMatch(told[0], /\[item \d+\]|\n\s+at |NodeApiError|NodeOperationError/);
							assert.equal(sim.runs.size - runsBefore, outcome.runs);
							for (const request of model.requests)
								assert.ok(!request.raw.includes(demo.TEST_KEY), 'the key reached the model');
							table.push(
								`AGENT n8n ${n8n.LINES[line].version} AI Agent ${version} | ${outcome.name} | ${told[0].slice(0, 120)}`,
							);
						} finally {
							sim.clearFaults();
						}
					});
				}
			});
		}
	});
}

module.exports = { setup, register };
