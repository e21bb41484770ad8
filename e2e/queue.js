'use strict';
/**
 * n8n's distributed engine on this machine: private Postgres and Redis on free loopback ports
 * (Debian's packages, installed with apt-get when missing), then one main, two workers and two
 * webhook processes sharing one user folder (with this package installed), one database and one
 * encryption key. Everything listens on 127.0.0.1 and is removed by `stop()`.
 */
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const n8n = require('./n8n');

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function sh(command, args, options = {}) {
	return execFileSync(command, args, {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
		...options,
	});
}

function postgresBin() {
	const root = '/usr/lib/postgresql';
	if (!fs.existsSync(root)) return undefined;
	const versions = fs
		.readdirSync(root)
		.filter((name) => fs.existsSync(path.join(root, name, 'bin', 'initdb')))
		.sort((a, b) => Number(b) - Number(a));
	return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

function redisBin() {
	for (const candidate of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
		if (fs.existsSync(candidate)) return candidate;
	}
	return undefined;
}

/** Postgres and Redis from Debian's packages; installed once when missing (needs root). */
function ensureServices() {
	if (postgresBin() && redisBin()) return;
	if (!isRoot) {
		throw new Error(
			'Queue mode needs Postgres and Redis: install the Debian packages postgresql and redis-server',
		);
	}
	n8n.log('installing postgresql and redis-server (apt-get, once) …');
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	sh('apt-get', ['update', '-qq'], { env });
	sh('apt-get', ['install', '-y', '-qq', 'postgresql', 'redis-server'], { env });
	// The packages start system-wide services; ours are private instances on other ports.
	for (const service of ['postgresql', 'redis-server']) {
		try {
			sh('service', [service, 'stop']);
		} catch {
			// not running or no init system: fine
		}
	}
}

/** Runs a Postgres tool as the postgres user when we are root (initdb refuses to run as root). */
function asPostgres(tool, args, options = {}) {
	const bin = path.join(postgresBin(), tool);
	return isRoot
		? sh('runuser', ['-u', 'postgres', '--', bin, ...args], options)
		: sh(bin, args, options);
}

async function startPostgres(root) {
	const dir = path.join(root, 'pg');
	fs.mkdirSync(dir, { recursive: true });
	if (isRoot) sh('chown', ['-R', 'postgres:postgres', dir]);
	asPostgres('initdb', ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'n8n', '--no-sync']);
	const port = await n8n.freePort();
	asPostgres('pg_ctl', [
		'-D',
		path.join(dir, 'data'),
		'-l',
		path.join(dir, 'postgres.log'),
		'-w',
		'-o',
		`-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`,
		'start',
	]);
	asPostgres('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'n8n', 'n8n']);
	return {
		port,
		/** Runs one SQL statement on n8n's database; its rows, tab-separated, one per line. */
		query(sql) {
			return asPostgres('psql', [
				'-h',
				'127.0.0.1',
				'-p',
				String(port),
				'-U',
				'n8n',
				'-d',
				'n8n',
				'-At',
				'-F',
				'\t',
				'-c',
				sql,
			]).trim();
		},
		/** Bytes of WAL Postgres has written since `since` (a pg_current_wal_lsn(); none: the LSN now). */
		wal(since) {
			return since === undefined
				? this.query('SELECT pg_current_wal_lsn()')
				: Number(this.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${since}')`));
		},
		/**
		 * Freezes this instance for `ms`, as a failover or a stalled disk does: SIGSTOP to its
		 * postmaster and each of its backends (by the PIDs of this instance only), then SIGCONT.
		 * Connections stay open; every statement in flight or sent meanwhile waits.
		 */
		async stall(ms) {
			const [postmaster, ...backends] = this.pids();
			process.kill(postmaster, 'SIGSTOP');
			for (const pid of backends) process.kill(pid, 'SIGSTOP');
			try {
				await new Promise((resolve) => setTimeout(resolve, ms));
			} finally {
				for (const pid of backends) process.kill(pid, 'SIGCONT');
				process.kill(postmaster, 'SIGCONT');
			}
			return backends.length + 1;
		},
		/** This instance's postmaster and backends, by PID. */
		pids() {
			const postmaster = Number(
				fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0],
			);
			const backends = sh('ps', ['-o', 'pid=', '--ppid', String(postmaster)])
				.split('\n')
				.map(Number)
				.filter((pid) => pid > 0);
			return [postmaster, ...backends];
		},
		stop() {
			try {
				asPostgres('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', 'stop']);
			} catch {
				// already stopped
			}
		},
	};
}

async function startRedis(root) {
	const port = await n8n.freePort();
	const child = spawn(
		redisBin(),
		[
			'--port',
			String(port),
			'--bind',
			'127.0.0.1',
			'--save',
			'',
			'--appendonly',
			'no',
			'--dir',
			root,
		],
		{ stdio: 'ignore' },
	);
	for (let i = 0; i < 100; i++) {
		if (!(await n8n.isFree(port))) break;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return {
		port,
		stop() {
			child.kill('SIGKILL');
		},
	};
}

/** CPU seconds (user + system) of these processes and their live descendants; gone ones count 0. */
function cpuSeconds(pids) {
	const ticks = 100;
	let total = 0;
	const seen = new Set();
	const visit = (pid) => {
		if (seen.has(pid)) return;
		seen.add(pid);
		try {
			const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
			total += (Number(fields[11]) + Number(fields[12])) / ticks;
			for (const child of fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' '))
				if (Number(child) > 0) visit(Number(child));
		} catch {
			// gone meanwhile
		}
	};
	for (const pid of pids) visit(pid);
	return total;
}

/**
 * The whole topology for release line `line`. `setup` is what the main process's database gets
 * before anything starts (credentials, workflows, activations), as `n8n.prepare` takes it.
 */
async function startTopology(line, setup) {
	ensureServices();
	const root = fs.mkdtempSync(path.join(os.tmpdir(), `wsai-queue${line}-`));
	fs.chmodSync(root, 0o755);
	const started = [];
	const logs = {};
	const stopAll = async () => {
		// E2E_LOG_DIR=<dir> keeps each n8n process's output (debug level) for a look afterwards.
		if (process.env.E2E_LOG_DIR) {
			fs.mkdirSync(process.env.E2E_LOG_DIR, { recursive: true });
			for (const [name, output] of Object.entries(logs))
				fs.writeFileSync(path.join(process.env.E2E_LOG_DIR, `line${line}-${name}.log`), output());
		}
		for (const part of started.reverse()) await part.stop();
		fs.rmSync(root, { recursive: true, force: true });
	};
	try {
		const postgres = await startPostgres(root);
		started.push(postgres);
		const redis = await startRedis(root);
		started.push(redis);

		const shared = {
			EXECUTIONS_MODE: 'queue',
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: '127.0.0.1',
			DB_POSTGRESDB_PORT: String(postgres.port),
			DB_POSTGRESDB_DATABASE: 'n8n',
			DB_POSTGRESDB_USER: 'n8n',
			DB_POSTGRESDB_PASSWORD: '',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: String(redis.port),
			QUEUE_HEALTH_CHECK_ACTIVE: 'true',
			N8N_ENCRYPTION_KEY: `wsai-queue-e2e-${line}`,
			// Manual runs from the editor go to the workers too, as teams at scale configure it.
			OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
			// Binary data cannot live on one process's disk in queue mode.
			N8N_DEFAULT_BINARY_DATA_MODE: 'database',
			N8N_LOG_LEVEL: 'debug',
			// Bull's stalled-job check with shorter timings than n8n's defaults (lock 60 s, check every
			// 30 s), so that a dead worker's job is noticed within CI's budget; the mechanism is the same.
			// A lock of 20 s lapsed once in CI under a live worker starved of CPU (its 10,500-URL batch
			// then ran on both workers before the test could kill one): 30 s, renewed every 5 s.
			QUEUE_WORKER_LOCK_DURATION: '30000',
			QUEUE_WORKER_LOCK_RENEW_TIME: '5000',
			QUEUE_WORKER_STALLED_INTERVAL: '10000',
		};
		// The package goes into the shared user folder before any process starts.
		const prepared = await n8n.prepare(line, {
			...setup,
			userFolder: path.join(root, 'n8n'),
			env: shared,
		});

		const processes = {};
		const spawnOne = async (name, args, extra, readyUrl) => {
			const instance = await n8n.start(prepared, {
				args,
				// E2E_CPU_PROF=<dir> writes a CPU profile of each n8n process (when it exits) to <dir>/<name>.
				nodeArgs: process.env.E2E_CPU_PROF
					? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.E2E_CPU_PROF, name)}`]
					: [],
				env: { ...extra, N8N_RUNNERS_BROKER_PORT: String(await n8n.freePort()) },
				ready: readyUrl,
			});
			processes[name] = instance;
			logs[name] = instance.output;
			started.push({ stop: async () => await instance.stop() });
			return instance;
		};
		const spawnWorker = async (name) => {
			const port = await n8n.freePort();
			return await spawnOne(
				name,
				['worker', '--concurrency=5'],
				{
					QUEUE_HEALTH_CHECK_PORT: String(port),
					N8N_PORT: String(port),
					N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
				},
				`http://127.0.0.1:${port}/healthz`,
			);
		};
		// Main first: it runs the migrations and activates the workflows (webhook_entity rows).
		const main = await spawnOne('main', ['start'], {}, undefined);
		const webhookPorts = [await n8n.freePort(), await n8n.freePort()];
		await Promise.all([
			spawnWorker('worker1'),
			spawnWorker('worker2'),
			...webhookPorts.map((port, index) =>
				spawnOne(
					`webhook${index + 1}`,
					['webhook'],
					{ N8N_PORT: String(port), QUEUE_HEALTH_CHECK_PORT: String(port) },
					`http://127.0.0.1:${port}/healthz`,
				),
			),
		]);
		return {
			line,
			prepared,
			main,
			processes,
			webhookBaseUrls: webhookPorts.map((port) => `http://127.0.0.1:${port}`),
			/** Everything a process printed so far. */
			output: (name) => logs[name](),
			/** Starts one more worker under `name` (after one died) and resolves when it is ready. */
			spawnWorker,
			query: (sql) => postgres.query(sql),
			wal: (since) => postgres.wal(since),
			stallDatabase: async (ms) => await postgres.stall(ms),
			/**
			 * CPU seconds used so far (user + system), per n8n process name and for Postgres (its
			 * postmaster and the backends alive now): differences of two readings are what a step cost.
			 */
			cpu() {
				const used = {};
				for (const [name, instance] of Object.entries(processes))
					used[name] = cpuSeconds([instance.child.pid]);
				used.postgres = cpuSeconds(postgres.pids());
				return used;
			},
			stop: stopAll,
		};
	} catch (error) {
		await stopAll();
		throw error;
	}
}

module.exports = { startTopology, startPostgres, ensureServices, isRoot, sh };
