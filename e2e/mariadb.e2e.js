'use strict';
/**
 * n8n 1.x on MySQL/MariaDB (which 1.x supports; 2.x dropped it): n8n keeps processed_data values in
 * a TEXT column there (64 KiB). A private MariaDB from Debian's mariadb-server (installed with
 * apt-get when missing, as root) on a free loopback port, n8n 1.123.81 on it, and more billed calls
 * and deliveries than the records used to allow (a node's row broke at 2,426 claims, a trigger's at
 * about 1,200 deliveries): every one recorded, sent once, and our rows under 60 KB.
 */
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const demo = require('./demo');
const n8n = require('./n8n');
const { isRoot, sh } = require('./queue');

const PAGES = Number(process.env.MARIADB_PAGES ?? 3000);
const DELIVERIES = Number(process.env.MARIADB_DELIVERIES ?? 1300);
const SCRAPE_WORKFLOW_ID = 'wsaiMariaScrape1';

function mariadbd() {
	for (const candidate of ['/usr/sbin/mariadbd', '/usr/sbin/mysqld']) {
		if (fs.existsSync(candidate)) return candidate;
	}
	return undefined;
}

function ensureMariadb() {
	if (mariadbd()) return;
	if (!isRoot)
		throw new Error('Install the Debian package mariadb-server (as root) for this suite');
	n8n.log('installing mariadb-server (apt-get, once) …');
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	sh('apt-get', ['update', '-qq'], { env });
	sh('apt-get', ['install', '-y', '-qq', 'mariadb-server'], { env });
	try {
		sh('service', ['mariadb', 'stop']);
	} catch {
		// not running or no init system: fine
	}
}

/** A private MariaDB: data dir and socket outside root's home (mariadbd runs as user mysql). */
async function startMariadb() {
	ensureMariadb();
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-mariadb-'));
	fs.chmodSync(root, 0o777);
	const data = path.join(root, 'data');
	const socket = path.join(root, 'mysqld.sock');
	const user = isRoot ? ['--user=mysql'] : [];
	sh('mariadb-install-db', [
		`--datadir=${data}`,
		...user,
		'--auth-root-authentication-method=normal',
		'--skip-test-db',
	]);
	const port = await n8n.freePort();
	const child = spawn(
		mariadbd(),
		[
			'--no-defaults',
			`--datadir=${data}`,
			`--socket=${socket}`,
			`--port=${port}`,
			'--bind-address=127.0.0.1',
			'--skip-grant-tables',
			'--innodb-flush-log-at-trx-commit=0',
			...user,
		],
		{ stdio: 'ignore' },
	);
	const query = (sql) =>
		sh('mariadb', [
			'--protocol=TCP',
			'-h',
			'127.0.0.1',
			'-P',
			String(port),
			'-u',
			'root',
			'-N',
			'-B',
			'-e',
			sql,
		]).trim();
	for (let tries = 0; ; tries++) {
		try {
			query('SELECT 1');
			break;
		} catch (error) {
			if (tries > 100) throw error;
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}
	query('CREATE DATABASE n8n CHARACTER SET utf8mb4');
	return {
		port,
		query: (sql) => query(`USE n8n; ${sql}`),
		stop() {
			child.kill('SIGKILL');
			fs.rmSync(root, { recursive: true, force: true });
		},
	};
}

function scrapeWorkflow() {
	return {
		id: SCRAPE_WORKFLOW_ID,
		name: 'WebScrape AI – many pages on MariaDB',
		active: false,
		nodes: [
			{
				id: 'f0000000-0000-4000-8000-000000000001',
				name: 'Manual',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
			{
				id: 'f0000000-0000-4000-8000-000000000002',
				name: 'Pages',
				type: 'n8n-nodes-base.code',
				typeVersion: 2,
				position: [220, 0],
				parameters: {
					jsCode: `const tag = Date.now().toString(36);\nreturn Array.from({ length: ${PAGES} }, (_, index) => ({ json: { url: \`https://example.com/\${tag}/\${index}\` } }));`,
				},
			},
			{
				id: 'f0000000-0000-4000-8000-000000000003',
				name: 'Scrape',
				type: 'n8n-nodes-webscrape-ai.webScrapeAi',
				typeVersion: 1,
				position: [440, 0],
				parameters: { resource: 'page', operation: 'scrape', url: '={{ $json.url }}' },
				credentials: demo.CREDENTIAL_REF,
			},
		],
		connections: {
			Manual: { main: [[{ node: 'Pages', type: 'main', index: 0 }]] },
			Pages: { main: [[{ node: 'Scrape', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

describe(
	'n8n 1.123.81 on MariaDB: records stay within the TEXT column',
	{ timeout: 40 * 60 * 1000 },
	() => {
		let db;
		let sim;
		let prepared;
		let instance;
		let session;
		let key;

		/** The byte size of each of our processed_data rows, by context. */
		const rowSizes = () =>
			Object.fromEntries(
				db
					.query('SELECT context, LENGTH(value) FROM processed_data')
					.split('\n')
					.filter(Boolean)
					.map((line) => line.split('\t'))
					.map(([context, bytes]) => [context || '(workflow)', Number(bytes)]),
			);

		before(async () => {
			db = await startMariadb();
			let simBaseUrl;
			({ sim, baseUrl: simBaseUrl } = await demo.startSimulator({ runMs: 200 }));
			sim.account().credits = 10_000_000;
			prepared = await n8n.prepare(1, {
				credentials: [demo.credential(simBaseUrl)],
				workflows: [...demo.examples(), scrapeWorkflow()],
				activate: [demo.TRIGGER_WORKFLOW_ID],
				env: {
					DB_TYPE: 'mariadb',
					DB_MYSQLDB_HOST: '127.0.0.1',
					DB_MYSQLDB_PORT: String(db.port),
					DB_MYSQLDB_DATABASE: 'n8n',
					DB_MYSQLDB_USER: 'root',
					DB_MYSQLDB_PASSWORD: '',
					// The workflow's Code node (which makes the URLs) waits for n8n's task runner, 60 s by
					// default; with every CI suite side by side it once waited longer and failed the case.
					N8N_RUNNERS_TASK_REQUEST_TIMEOUT: '300',
				},
			});
			({ instance, session, key } = await n8n.startSignedIn(prepared));
			await demo.waitForTrigger(instance.baseUrl);
		});

		after(async () => {
			await instance?.stop();
			await sim?.stop();
			db?.stop();
		});

		test(`two executions of ${PAGES} Page → Scrape items each: every page recorded and sent once`, async () => {
			sim.clearLog();
			for (let round = 1; round <= 2; round++) {
				// Up to 15 minutes each: beside every other CI suite one took over 10 (the two 435 s on
				// average in a run that passed, on the same machine).
				const result = await n8n.executeWorkflow(
					{ instance, session, key },
					SCRAPE_WORKFLOW_ID,
					15 * 60 * 1000,
				);
				const scrape = result.data.resultData.runData.Scrape;
				// When n8n itself failed the execution, its own error says why.
				assert.ok(scrape, JSON.stringify(result.data.resultData.error)?.slice(0, 600));
				const runData = scrape[0];
				assert.equal(runData.error, undefined, JSON.stringify(runData.error)?.slice(0, 600));
				assert.equal(runData.data.main[0].length, PAGES);
			}
			const sent = sim.requests('scrape').map((entry) => entry.body.website_url);
			assert.equal(sent.length, 2 * PAGES);
			assert.equal(new Set(sent).size, sent.length);
			const sizes = rowSizes();
			for (const [context, bytes] of Object.entries(sizes))
				assert.ok(bytes < 60 * 1024, `${context}: ${bytes} bytes`);
			console.log(`MARIADB pages: ${2 * PAGES} scraped once each; rows ${JSON.stringify(sizes)}`);
		});

		test(`${DELIVERIES} deliveries to the trigger: every one reaches the next node once`, async () => {
			const runs = Array.from({ length: DELIVERIES }, () => sim.seedCompletedRun('m3Yc2tFvN8q'));
			let cursor = 0;
			await Promise.all(
				Array.from({ length: 5 }, async () => {
					while (cursor < runs.length) {
						const run = runs[cursor++];
						await sim.deliver(run.id, {
							url: demo.triggerUrl(instance.baseUrl),
							headers: { Authorization: demo.WEBHOOK_SECRET },
						});
					}
				}),
			);
			const triggerId = demo.TRIGGER_WORKFLOW_ID;
			const finished = await demo.until(
				`${DELIVERIES} trigger executions`,
				async () => {
					const count = Number(
						db.query(
							`SELECT COUNT(*) FROM execution_entity WHERE workflowId = '${triggerId}' AND status = 'success'`,
						),
					);
					return count >= DELIVERIES ? count : undefined;
				},
				15 * 60 * 1000,
			);
			assert.equal(finished, DELIVERIES);
			const failed = Number(
				db.query(
					`SELECT COUNT(*) FROM execution_entity WHERE workflowId = '${triggerId}' AND status <> 'success'`,
				),
			);
			assert.equal(failed, 0);
			// NULL: nothing was ever saved (the trigger writes no static data per delivery).
			const stored = db.query(
				`SELECT LENGTH(staticData) FROM workflow_entity WHERE id = '${triggerId}'`,
			);
			const staticData = stored === 'NULL' || stored === '' ? 0 : Number(stored);
			const sizes = rowSizes();
			for (const [context, bytes] of Object.entries(sizes))
				assert.ok(bytes < 60 * 1024, `${context}: ${bytes} bytes`);
			assert.ok(staticData < 60 * 1024, `static data ${stored} bytes`);
			console.log(
				`MARIADB deliveries: ${DELIVERIES} delivered, ${finished} executions succeeded, 0 failed; static data ${staticData} bytes; rows ${JSON.stringify(sizes)}`,
			);
		});
	},
);
