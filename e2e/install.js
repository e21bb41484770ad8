'use strict';
/**
 * `node e2e/install.js [line ...]`: installs the pinned n8n of the release lines named (both when
 * none is) into .cache/ at the same time (one process per line; each install is mostly download and
 * unpacking), so the steps that need real n8n find it there. sqlite3's add-on is compiled once, by
 * line 1, and copied into line 2 (see `buildSqlite3`), also when line 1 is installed by another
 * process: `.ci/run` installs line 2 this way in the background while `npm start -- --check`
 * installs line 1 as a newcomer's first start does. Exits 1 when an install fails.
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

const named = process.argv.slice(2).map(Number);
const lines = named.length ? named : Object.keys(n8n.LINES).map(Number);
for (const line of lines)
	if (!n8n.LINES[line]) {
		console.error(`no n8n line ${line}: the lines are ${Object.keys(n8n.LINES).join(', ')}`);
		process.exit(2);
	}
Promise.all(lines.map(installLine)).then((codes) => {
	process.exit(codes.every((code) => code === 0) ? 0 : 1);
});
