'use strict';
/**
 * `npm start`: builds the package, starts the webscrape.ai simulator and a real local n8n with this
 * package installed as a community package, a credential pointing at the simulator and the example
 * workflows imported, then prints the editor URL. Ctrl-C stops everything it started.
 * `--check` boots, verifies through n8n's REST API that both nodes and the examples are there, and exits.
 *
 * Each n8n release line keeps its own user folder (.cache/demo-n8n1, .cache/demo-n8n2): a database
 * one line created is not one the other can open safely. The credential and the examples are
 * imported on a folder's first start only, so edits made in the editor survive later starts.
 */
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const demo = require('../e2e/demo');
const n8n = require('../e2e/n8n');

const CHECK = process.argv.includes('--check');
const STATE_FILE = 'demo-state.json';

/** A step of the demo that failed: which one, what it said, and what to try. */
class StepError extends Error {
	constructor(step, cause, hint) {
		super(`${step} failed`);
		this.step = step;
		this.cause = cause;
		this.hint = hint;
	}
}

async function step(name, hint, fn) {
	try {
		return await fn();
	} catch (error) {
		if (error instanceof StepError) throw error;
		throw new StepError(name, error, hint);
	}
}

/** The release line: DEMO_N8N_LINE when set, otherwise 2.x on Node 24 and later, 1.x before. */
function chooseLine() {
	const wanted = process.env.DEMO_N8N_LINE;
	if (wanted === '1' || wanted === '2') return Number(wanted);
	if (wanted)
		throw new StepError(
			'choosing the n8n line',
			new Error(`DEMO_N8N_LINE=${wanted}`),
			'Set DEMO_N8N_LINE to 1 or 2, or leave it unset.',
		);
	return Number(process.versions.node.split('.')[0]) >= 24 ? 2 : 1;
}

function readState(userFolder) {
	try {
		return JSON.parse(fs.readFileSync(path.join(userFolder, STATE_FILE), 'utf8'));
	} catch {
		return undefined;
	}
}

async function main() {
	const line = chooseLine();
	const version = n8n.LINES[line].version;
	const home = process.env.DEMO_HOME ? path.resolve(process.env.DEMO_HOME) : n8n.CACHE;
	const userFolder = path.join(home, `demo-n8n${line}`);
	const logPath = path.join(userFolder, 'n8n.log');
	const relative = (file) => path.relative(process.cwd(), file) || file;
	let state = readState(userFolder);
	if (!state && fs.existsSync(userFolder)) {
		// A first start that did not finish: its database may hold half an import. Start afresh.
		fs.rmSync(userFolder, { recursive: true, force: true });
	}
	fs.mkdirSync(userFolder, { recursive: true });
	const logFile = fs.createWriteStream(logPath, { flags: 'a' });
	logFile.write(
		`\n==== npm start${CHECK ? ' --check' : ''} ${new Date().toISOString()} (n8n ${version}) ====\n`,
	);
	const remember = (error) => {
		const cause = error && error.cause;
		for (const part of [cause && cause.stdout, cause && cause.stderr, cause && cause.stack]) {
			if (part) logFile.write(`${part}\n`);
		}
	};

	await step(
		'building the package',
		"Run `npm install`, then `npm run build` to see the compiler's message.",
		() => {
			n8n.log('building the package …');
			execSync('npm run build', { cwd: n8n.ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
		},
	);
	await step(
		`installing n8n ${version}`,
		`Check that the npm registry is reachable, then delete .cache/n8n-${version} and try again.`,
		() => n8n.ensureN8n(line),
	).catch((error) => {
		remember(error);
		throw error;
	});

	const firstStart = !state;
	const { sim, baseUrl: simBaseUrl } = await step(
		'starting the webscrape.ai simulator',
		'Another program may hold the port; set SIM_PORT to a free one.',
		async () => {
			const wanted = Number(process.env.SIM_PORT ?? state?.simPort ?? 0);
			const port = wanted && (await n8n.isFree(wanted)) ? wanted : 0;
			return await demo.startSimulator({ port });
		},
	);
	const simPort = Number(new URL(simBaseUrl).port);
	// The credential names the simulator's address: import it again only when that changed.
	const credentialStale = firstStart || state.simPort !== simPort;
	let prepared;
	try {
		prepared = await step(
			firstStart
				? 'importing the demo credential and example workflows into n8n'
				: 'preparing n8n (package install, credential update)',
			`Delete ${relative(userFolder)} to set up this line's demo afresh (edits made in its editor are lost).`,
			async () =>
				await n8n.prepare(line, {
					userFolder,
					credentials: credentialStale ? [demo.credential(simBaseUrl)] : [],
					workflows: firstStart ? demo.examples() : [],
					activate: firstStart ? [demo.TRIGGER_WORKFLOW_ID, demo.MCP_WORKFLOW_ID] : [],
					// n8n's usual port when it is free; any free port otherwise.
					preferredPort: CHECK ? undefined : Number(process.env.N8N_PORT ?? 5678),
				}),
		);
	} catch (error) {
		remember(error);
		await sim.stop();
		throw error;
	}
	state = { line, version, simPort, setUpAt: state?.setUpAt ?? new Date().toISOString() };
	fs.writeFileSync(path.join(userFolder, STATE_FILE), JSON.stringify(state, null, 2));
	demo.wireWebhooks(sim, prepared.baseUrl);

	n8n.log(`starting n8n ${version} (log: ${relative(logPath)}) …`);
	let instance;
	try {
		instance = await step(
			`starting n8n ${version}`,
			`Read the log's last lines; if n8n cannot open its database, delete ${relative(userFolder)} to start this line's demo afresh.`,
			async () => await n8n.start(prepared),
		);
	} catch (error) {
		const output = error.cause && error.cause.message;
		if (output) logFile.write(`${output}\n`);
		await sim.stop();
		throw error;
	}
	// Whatever ends this process (a failed step, an exception) ends n8n too: never one left running.
	process.on('exit', () => {
		if (instance.child.exitCode === null) instance.child.kill('SIGTERM');
	});
	logFile.write(instance.output());
	instance.child.stdout.on('data', (chunk) => logFile.write(chunk));
	instance.child.stderr.on('data', (chunk) => logFile.write(chunk));

	const stop = async () => {
		await instance.stop();
		await sim.stop();
		// n8n copies its editor into the user folder at every start (530 files on 1.x, over 1,000 on
		// 2.x): left in this checkout, `npm run lint` (eslint .) read them all.
		fs.rmSync(path.join(userFolder, '.cache', 'n8n', 'public'), { recursive: true, force: true });
	};
	let session;
	try {
		session = await step(
			'logging in to n8n',
			'Read the log; n8n may still be migrating its database.',
			async () => await n8n.session(instance),
		);
	} catch (error) {
		await stop();
		throw error;
	}

	if (CHECK) {
		// n8n is stopped whatever the check finds or fails at: a check leaves nothing running.
		let result;
		try {
			result = await step(
				"checking both nodes and the examples through n8n's REST API",
				'Read the log; n8n may have stopped answering (the last lines say why).',
				async () => {
					const types = await (
						await n8n.fetchRead(`${instance.baseUrl}/types/nodes.json`, {
							headers: { cookie: session.cookie },
						})
					).json();
					const names = types.map((type) => type.name);
					const workflows = await session.rest('GET', '/workflows');
					const list = workflows.body.data ?? workflows.body;
					const ids = list.map((workflow) => workflow.id);
					return {
						line,
						version,
						nodes: [
							'n8n-nodes-webscrape-ai.webScrapeAi',
							'n8n-nodes-webscrape-ai.webScrapeAiTrigger',
						].filter((name) => names.includes(name)),
						tool: names.includes('n8n-nodes-webscrape-ai.webScrapeAiTool'),
						examples: demo
							.examples()
							.map((workflow) => workflow.id)
							.filter((id) => ids.includes(id)),
						names: list.map((workflow) => workflow.name),
					};
				},
			);
		} finally {
			await stop();
		}
		process.stdout.write(`${JSON.stringify(result)}\n`);
		process.exit(
			result.nodes.length === 2 && result.examples.length === demo.examples().length ? 0 : 1,
		);
	}

	console.log(`
  n8n ${version} is ready with n8n-nodes-webscrape-ai installed.

  Editor:     ${instance.baseUrl}/
  Log in:     ${session.owner.email} / ${session.owner.password}
  Simulator:  ${simBaseUrl} (a local webscrape.ai; the credential "WebScrape AI (local simulator)" points at it)
  Data:       ${relative(userFolder)} (this line's own; your edits stay between starts)

  Try: open "WebScrape AI – run a recipe and use its rows" and click Execute workflow.
       "dispatch a batch without waiting" starts 5 runs; "continue when a run ends" (active) receives
       each finished run from the simulator. "handle failed runs" shows the error output.
  MCP:  "tools for AI agents over MCP" (active) serves the four tools to any MCP client at
        ${instance.baseUrl}/mcp/webscrape-ai (streamable HTTP; e.g. npx @modelcontextprotocol/inspector).
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
			n8n.log(`n8n exited (${code}); see ${relative(logPath)}`);
			sim.stop().then(() => process.exit(1));
		}
	});
}

/** The last few meaningful lines of what a failed step printed, without buffers or stacks. */
function summary(error) {
	const cause = error.cause ?? error;
	// fetch's "fetch failed" says why in its own cause (refused, reset, closed).
	const reason = cause.cause && [cause.cause.code, cause.cause.message].filter(Boolean).join(' ');
	const text = [cause.stderr, cause.stdout, cause.message, reason]
		.filter((part) => typeof part === 'string' && part.trim())
		.join('\n');
	const lines = text
		.split('\n')
		.map((one) => one.trim())
		.filter((one) => one && !/^at\s/.test(one) && !/^Command failed:/.test(one));
	const distinct = lines.filter((one, index) => lines.indexOf(one) === index);
	return distinct.slice(-3).map((one) => (one.length > 200 ? `${one.slice(0, 200)}…` : one));
}

main().catch((error) => {
	const line = (() => {
		try {
			return chooseLine();
		} catch {
			return 1;
		}
	})();
	const home = process.env.DEMO_HOME ? path.resolve(process.env.DEMO_HOME) : n8n.CACHE;
	const logPath = path.relative(process.cwd(), path.join(home, `demo-n8n${line}`, 'n8n.log'));
	if (error instanceof StepError) {
		console.error(`\nnpm start failed while ${error.step}.`);
		for (const one of summary(error)) console.error(`  ${one}`);
		console.error(`  n8n log: ${logPath}`);
		console.error(`  Try: ${error.hint}\n`);
	} else {
		console.error(`\nnpm start failed: ${error && error.message}\n  n8n log: ${logPath}\n`);
	}
	process.exit(1);
});
