'use strict';
/**
 * `npm start`: builds the package, starts the webscrape.ai simulator and a real local n8n with this
 * package installed as a community package, a credential pointing at the simulator and the example
 * workflows imported, then prints the editor URL. Ctrl-C stops everything it started.
 * `--check` boots, verifies through n8n's REST API that both nodes and the examples are there, and exits.
 */
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const demo = require('../e2e/demo');
const n8n = require('../e2e/n8n');

const CHECK = process.argv.includes('--check');

async function main() {
	const line =
		Number(process.versions.node.split('.')[0]) >= 24 || process.env.DEMO_N8N_LINE === '2' ? 2 : 1;
	n8n.log('building the package …');
	execSync('npm run build', {
		cwd: n8n.ROOT,
		stdio: CHECK ? 'ignore' : ['ignore', 'ignore', 'inherit'],
	});

	const { sim, baseUrl: simBaseUrl } = await demo.startSimulator({
		port: Number(process.env.SIM_PORT ?? 0),
	});
	const userFolder = path.join(n8n.CACHE, CHECK ? `demo-check-${process.pid}` : 'demo');
	fs.mkdirSync(userFolder, { recursive: true });
	const prepared = await n8n.prepare(line, {
		userFolder,
		credentials: [demo.credential(simBaseUrl)],
		workflows: demo.examples(),
		activate: [demo.TRIGGER_WORKFLOW_ID],
		// n8n's usual port when it is free; any free port otherwise.
		preferredPort: CHECK ? undefined : Number(process.env.N8N_PORT ?? 5678),
	});
	demo.wireWebhooks(sim, prepared.baseUrl);
	n8n.log(
		`starting n8n ${n8n.LINES[line].version} (log: ${path.relative(process.cwd(), path.join(userFolder, 'n8n.log'))}) …`,
	);
	const instance = await n8n.start(prepared);
	const logFile = fs.createWriteStream(path.join(userFolder, 'n8n.log'));
	logFile.write(instance.output());
	instance.child.stdout.on('data', (chunk) => logFile.write(chunk));
	instance.child.stderr.on('data', (chunk) => logFile.write(chunk));
	const session = await n8n.session(instance);

	const stop = async () => {
		await instance.stop();
		await sim.stop();
		if (CHECK) fs.rmSync(userFolder, { recursive: true, force: true });
	};

	if (CHECK) {
		const types = await (
			await fetch(`${instance.baseUrl}/types/nodes.json`, { headers: { cookie: session.cookie } })
		).json();
		const names = types.map((type) => type.name);
		const workflows = await session.rest('GET', '/workflows');
		const ids = (workflows.body.data ?? workflows.body).map((workflow) => workflow.id);
		const result = {
			nodes: [
				'n8n-nodes-webscrape-ai.webScrapeAi',
				'n8n-nodes-webscrape-ai.webScrapeAiTrigger',
			].filter((name) => names.includes(name)),
			tool: names.includes('n8n-nodes-webscrape-ai.webScrapeAiTool'),
			examples: demo
				.examples()
				.map((workflow) => workflow.id)
				.filter((id) => ids.includes(id)),
		};
		process.stdout.write(`${JSON.stringify(result)}\n`);
		await stop();
		process.exit(
			result.nodes.length === 2 && result.examples.length === demo.examples().length ? 0 : 1,
		);
	}

	console.log(`
  n8n ${n8n.LINES[line].version} is ready with n8n-nodes-webscrape-ai installed.

  Editor:     ${instance.baseUrl}/
  Log in:     ${session.owner.email} / ${session.owner.password}
  Simulator:  ${simBaseUrl} (a local webscrape.ai; the credential "WebScrape AI (local simulator)" points at it)

  Try: open "WebScrape AI – run a recipe and use its rows" and click Execute workflow.
       "dispatch a batch without waiting" starts 5 runs; "continue when a run ends" (active) receives
       each finished run from the simulator. "handle failed runs" shows the error output.
  Real API: edit the credential, set your wsg_live_ key and Base URL https://api.webscrape.ai/v1.

  Ctrl-C stops n8n and the simulator.
`);
	let stopping = false;
	const shutdown = async () => {
		if (stopping) return;
		stopping = true;
		n8n.log('stopping …');
		await stop();
		process.exit(0);
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
	instance.child.on('exit', (code) => {
		if (!stopping) {
			n8n.log(`n8n exited (${code}); see ${path.join(userFolder, 'n8n.log')}`);
			sim.stop().then(() => process.exit(1));
		}
	});
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
