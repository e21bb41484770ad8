'use strict';
/**
 * Real n8n on each supported release line (E2E_LINES, default "1,2"), one instance per line shared
 * by the suites in e2e/suites/ (booting n8n and importing with its CLI costs more than most cases):
 * the basics (loading, examples, trigger, MCP clients), n8n's AI Agent with our tools, the editor
 * in a real browser, the plan
 * throttles, and Output One File read by n8n's own file nodes. Each suite's `setup` adds its credentials and workflows before n8n starts; its
 * `register` adds its cases, which run in that order on the running instance.
 */
const { after, before, describe } = require('node:test');

const demo = require('./demo');
const n8n = require('./n8n');

const LINES_TO_TEST = (process.env.E2E_LINES ?? '1,2').split(',').map(Number);
// E2E_SUITES=basics,files runs some of them (the basics suite brings the credential and examples).
const SUITES = (process.env.E2E_SUITES ?? 'basics,agent,editor,throttles,files')
	.split(',')
	.map((name) => require(`./suites/${name}`));

for (const line of LINES_TO_TEST) {
	describe(`real n8n ${n8n.LINES[line].version}`, { timeout: 60 * 60 * 1000 }, () => {
		/** What every suite reads once the instance runs: sim, prepared, instance, session, key. */
		const shared = {};

		before(async () => {
			({ sim: shared.sim } = await demo.startSimulator({ runMs: 1500 }));
			const credentials = new Map();
			const workflows = new Map();
			const activate = [];
			for (const suite of SUITES) {
				const parts = await suite.setup(shared, line);
				for (const credential of parts.credentials ?? [])
					credentials.set(credential.id, credential);
				for (const workflow of parts.workflows ?? []) workflows.set(workflow.id, workflow);
				activate.push(...(parts.activate ?? []));
			}
			shared.prepared = await n8n.prepare(line, {
				credentials: [...credentials.values()],
				workflows: [...workflows.values()],
				activate,
			});
			demo.wireWebhooks(shared.sim, shared.prepared.baseUrl);
			shared.instance = await n8n.start(shared.prepared);
			shared.session = await n8n.session(shared.instance);
			shared.key = await n8n.apiKey(shared.session);
			if (activate.includes(demo.TRIGGER_WORKFLOW_ID))
				await demo.waitForTrigger(shared.instance.baseUrl);
		});

		after(async () => {
			await shared.instance?.stop();
			await shared.sim?.stop();
		});

		for (const suite of SUITES) suite.register(line, shared);
	});
}
