'use strict';
/**
 * `node e2e/install.js`: installs the pinned n8n of both release lines into .cache/ at the same
 * time (one process per line; each install is mostly download and unpacking), so the steps that
 * need real n8n find it there. `.ci/run` starts it in the background while lint and the engine
 * tests run. sqlite3's add-on is compiled once, by line 1, and copied into line 2 (see
 * `buildSqlite3`). Exits 1 when either install fails.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const n8n = require('./n8n');

const lineDir = (line) => path.join(n8n.CACHE, `n8n-${n8n.LINES[line].version}`);

async function installLine(line) {
	const started = Date.now();
	const child = spawn(
		process.execPath,
		['-e', `require(${JSON.stringify(__dirname + '/n8n')}).ensureN8n(${line})`],
		{
			stdio: 'inherit',
			env: line === 1 ? process.env : { ...process.env, E2E_SQLITE3_FROM: lineDir(1) },
		},
	);
	const code = await new Promise((resolve) => child.on('exit', resolve));
	// Line 2 waits for line 1's sqlite3 build: tell it when there will be none.
	if (code !== 0) {
		fs.mkdirSync(lineDir(line), { recursive: true });
		fs.writeFileSync(path.join(lineDir(line), '.install-failed'), String(code));
	}
	const seconds = Math.round((Date.now() - started) / 1000);
	n8n.log(
		`line ${line} (n8n ${n8n.LINES[line].version}): ${code === 0 ? 'ready' : `failed (exit ${code})`} after ${seconds} s`,
	);
	return code;
}

Promise.all(Object.keys(n8n.LINES).map(Number).map(installLine)).then((codes) => {
	process.exit(codes.every((code) => code === 0) ? 0 : 1);
});
