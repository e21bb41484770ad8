'use strict';
/**
 * `npm start` on both release lines in any order, on one checkout: line 1 (an edit made in its
 * editor), then line 2, then line 1 again; each reaches a ready editor with both nodes and the five
 * examples, and line 1 still has the edit. Runs in a private DEMO_HOME so it never touches yours.
 */
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, describe, test } = require('node:test');

const demo = require('./demo');
const n8n = require('./n8n');

const START = path.join(n8n.ROOT, 'scripts', 'start.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-demo-home-'));
const RENAMED = 'Renamed in the editor (must survive restarts)';

function startDemo(line, args = []) {
	const child = spawn(process.execPath, [START, ...args], {
		cwd: n8n.ROOT,
		env: { ...process.env, DEMO_HOME: home, DEMO_N8N_LINE: String(line), N8N_PORT: '0' },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout.on('data', (chunk) => (output += chunk));
	child.stderr.on('data', (chunk) => (output += chunk));
	const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
	return { child, exited, output: () => output };
}

async function check(line) {
	const run = startDemo(line, ['--check']);
	const code = await run.exited;
	assert.equal(
		code,
		0,
		`npm start -- --check on line ${line} failed:\n${run.output().slice(-3000)}`,
	);
	const result = JSON.parse(
		run
			.output()
			.trim()
			.split('\n')
			.filter((one) => one.startsWith('{'))
			.pop(),
	);
	assert.equal(result.line, line);
	assert.deepEqual(result.nodes.sort(), [
		'n8n-nodes-webscrape-ai.webScrapeAi',
		'n8n-nodes-webscrape-ai.webScrapeAiTrigger',
	]);
	assert.equal(result.examples.length, demo.examples().length);
	return result;
}

describe('npm start on both n8n lines, in any order', { timeout: 40 * 60 * 1000 }, () => {
	after(() => fs.rmSync(home, { recursive: true, force: true }));

	test('line 1 (with an edit in its editor), then line 2, then line 1 again', async () => {
		// A user's first start on line 1: the editor comes up; they rename an example; Ctrl-C.
		const first = startDemo(1);
		const ready = Date.now();
		let editor;
		while (!editor) {
			if (Date.now() - ready > 10 * 60 * 1000) throw new Error(`no editor:\n${first.output()}`);
			const match = /Editor:\s+(\S+)\/\n/.exec(first.output());
			if (match) editor = match[1];
			else await new Promise((resolve) => setTimeout(resolve, 500));
		}
		const session = await n8n.session({ baseUrl: editor });
		const workflow = (await session.rest('GET', `/workflows/${demo.TRIGGER_WORKFLOW_ID}`)).body
			.data;
		const renamed = await session.rest('PATCH', `/workflows/${demo.TRIGGER_WORKFLOW_ID}`, {
			name: RENAMED,
			versionId: workflow.versionId,
		});
		assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
		first.child.kill('SIGINT');
		assert.equal(await first.exited, 0);

		await check(2);
		const again = await check(1);
		assert.ok(again.names.includes(RENAMED), `the edit was lost: ${again.names.join(', ')}`);
	});

	test('a failing step says which step, where the log is and what to try, without a stack trace', async () => {
		// A user folder whose database is not one n8n can open.
		const folder = path.join(home, 'demo-n8n1');
		fs.writeFileSync(path.join(folder, '.n8n', 'database.sqlite'), 'this is not a database');
		const run = startDemo(1, ['--check']);
		assert.equal(await run.exited, 1);
		const output = run.output();
		assert.match(output, /npm start failed while /);
		assert.match(output, /n8n log: .*demo-n8n1[/\\]n8n\.log/);
		assert.match(output, /Try: /);
		assert.doesNotMatch(output, /^\s+at .+\(.+:\d+:\d+\)$/m);
		assert.ok(output.split('\n').length < 40, output);
	});
});
