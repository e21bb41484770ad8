/**
 * `npm run bench` / `bench:short`, section "records on n8n's helper": what a billed call and a
 * delivery write to a real database through n8n's own DeduplicationHelper (n8n 1.123.81's, from
 * .cache/; 2.41's is the same code), over SQLite and Postgres, after 1,000, 10,000 and 100,000
 * records of history: today's design beside the one before it.
 *
 * - Today: our nodes through n8n-core's engine (a Page → Scrape of one page; one delivery to the
 *   trigger), with n8n-core's DataDeduplicationService calling n8n's helper over the database.
 * - Before (issue 18's design): the same helper calls that design made: one entry per claim and two
 *   per delivery, the newest 10,000 kept, each under the same lock row; per delivery, the
 *   workflow's static data (5,000 delivery keys) saved as n8n saves it.
 *
 * A row with H records of history is what the helper's maxEntries leaves of them (the newest
 * min(H, cap) hashes), inserted before measuring. Bytes written: Postgres's WAL (pg_wal_lsn_diff,
 * full_page_writes off as in the queue suite), SQLite's bytes this process sent to storage
 * (/proc/self/io write_bytes: database file and journal; sockets do not count). Each database runs in a child process of its
 * own (n8n reads its database settings once per process).
 */
import './env';

import type { IDataDeduplicator } from 'n8n-workflow';

import {
	deliver,
	ProcessedDataTable,
	runAction,
	setUpTrigger,
	useDeduplicator,
} from '../test/harness/engine';
import {
	childProcess,
	fs,
	os,
	PACKAGE_ROOT,
	path,
	print,
	printError,
	process,
	requireModule,
} from '../test/harness/host';
import { Simulator, TEST_KEY } from '../test/simulator';

const SHORT = process.argv.includes('--short');
const HISTORIES = [1_000, 10_000, 100_000];
/** Calls measured per figure (their mean). */
const SAMPLES = SHORT ? 3 : 6;
/** Today's caps (nodes/WebScrapeAi/exactlyOnce/nodeRow.ts) and the design before's. */
const TODAY_CAP = 1_000;
const BEFORE_CAP = 10_000;
const BEFORE_STATIC_KEYS = 5_000;
const LINE = 1;

interface Figure {
	database: string;
	history: number;
	what: 'billed call' | 'delivery';
	design: 'today' | 'before';
	bytes: number;
	largestRow: number;
	ok: boolean;
}

/** What n8n's helper stores for a value (the harness's model hashes as it does). */
const hash = (value: string) => ProcessedDataTable.hash(value);
const hashes = (count: number, prefix: string) =>
	Array.from({ length: count }, (_, index) => hash(`${prefix}-${index}`));

// ---- child: one database ----------------------------------------------------------------------

async function measureOn(database: 'sqlite' | 'postgresdb', out: string): Promise<void> {
	const { ensureN8n } = requireModule<{ ensureN8n(line: number): string }>(
		path.join(PACKAGE_ROOT, 'e2e', 'n8n.js'),
	);
	const n8nRoot = ensureN8n(LINE);
	/** A module of the installed n8n (untyped here: the types below name what is called). */
	const fromN8n = <T>(name: string) =>
		requireModule<T>(require.resolve(name, { paths: [path.join(n8nRoot, 'node_modules', 'n8n')] }));
	type Injectable = abstract new (...args: never[]) => unknown;
	interface Repository {
		insert(row: object): Promise<unknown>;
		update(id: string, row: object): Promise<unknown>;
	}
	fromN8n('reflect-metadata');
	const { Container } = fromN8n<{ Container: { get<T>(type: Injectable): T } }>('@n8n/di');
	const db =
		fromN8n<Record<'DbConnection' | 'WorkflowRepository' | 'ProcessedDataRepository', Injectable>>(
			'@n8n/db',
		);
	const { DeduplicationHelper } = fromN8n<{ DeduplicationHelper: new () => IDataDeduplicator }>(
		'n8n/dist/deduplication/deduplication-helper.js',
	);
	const connection = Container.get<{
		init(): Promise<void>;
		migrate(): Promise<void>;
		close(): Promise<void>;
	}>(db.DbConnection);
	await connection.init();
	await connection.migrate();
	const helper = new DeduplicationHelper();
	useDeduplicator(helper);
	const workflows = Container.get<Repository>(db.WorkflowRepository);
	const rows = Container.get<
		Repository & { manager: { connection: { query(sql: string): Promise<unknown> } } }
	>(db.ProcessedDataRepository);
	const sql = (query: string) =>
		rows.manager.connection.query(query) as Promise<Array<Record<string, unknown>>>;

	/** Bytes the database writes while `task` runs. */
	const written = async (task: () => Promise<unknown>): Promise<number> => {
		if (database === 'postgresdb') {
			const [{ lsn }] = await sql('SELECT pg_current_wal_lsn() AS lsn');
			await task();
			const [{ bytes }] = await sql(
				`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${String(lsn)}') AS bytes`,
			);
			return Number(bytes);
		}
		// What this process sent to storage (page-cache pages it dirtied; SQLite syncs each commit).
		const storage = () =>
			Number(/write_bytes: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
		const before = storage();
		await task();
		return storage() - before;
	};
	const largestRow = async (workflowId: string): Promise<number> => {
		const length = database === 'postgresdb' ? 'octet_length(value::text)' : 'length(value)';
		const found = await sql(
			`SELECT max(${length}) AS bytes FROM processed_data WHERE "workflowId" = '${workflowId}'`,
		);
		return Number(found[0]?.bytes ?? 0);
	};
	let workflowCount = 0;
	const workflow = async (entries: number, context: string): Promise<string> => {
		const id = `wfRecords${++workflowCount}`;
		await workflows.insert({
			id,
			name: id,
			active: false,
			nodes: [],
			connections: {},
			versionId: `00000000-0000-4000-8000-${String(workflowCount).padStart(12, '0')}`,
		});
		await rows.insert({
			workflowId: id,
			context,
			value: { mode: 'entries', data: hashes(entries, id) },
		});
		return id;
	};
	/** The lock row around each read-and-write, in both designs (rowLock.ts). */
	const underLock = async (workflowId: string, task: () => Promise<unknown>) => {
		const context = { workflow: { id: workflowId } } as never;
		await helper.checkProcessedAndRecord(['1000-01-01T00:00:00.000Z'], 'workflow', context, {
			mode: 'latestDate',
		});
		await task();
		await helper.clearAllProcessedItems('workflow', context, { mode: 'latestDate' });
	};

	const sim = new Simulator();
	const baseUrl = await sim.start();
	sim.addKey(TEST_KEY, { credits: 1e9, runsCap: 1e9 });
	const credentials = { apiKey: TEST_KEY, baseUrl };
	const figures: Figure[] = [];
	/**
	 * The mean bytes `call` writes over SAMPLES calls on workflow `id`, and its largest row; a call
	 * that answers false (our node did not do what a user expects) fails the figure.
	 */
	const measure = async (
		entry: Pick<Figure, 'history' | 'what' | 'design'>,
		id: string,
		call: (sample: number) => Promise<boolean>,
	): Promise<void> => {
		let bytes = 0;
		let ok = true;
		for (let sample = 0; sample < SAMPLES; sample++)
			bytes += await written(async () => {
				ok = (await call(sample)) && ok;
			});
		figures.push({
			database,
			...entry,
			bytes: bytes / SAMPLES,
			largestRow: await largestRow(id),
			ok,
		});
	};
	try {
		for (const history of HISTORIES) {
			// Today, billed call: Page → Scrape of one page through the engine.
			const action = await workflow(Math.min(history, TODAY_CAP), 'n:action-node');
			await measure({ history, what: 'billed call', design: 'today' }, action, async (sample) => {
				const run = await runAction(
					{ resource: 'page', operation: 'scrape', url: `https://example.com/r/${sample}` },
					[{}],
					{ credentials, workflowId: action, executionId: `records-${action}-${sample}` },
				);
				return run.status === 'success';
			});
			// Before, billed call: one claim on a row of up to 10,000.
			const oldAction = await workflow(Math.min(history, BEFORE_CAP), 'n:action-node');
			const actionContext = { workflow: { id: oldAction }, node: { id: 'action-node' } } as never;
			await measure(
				{ history, what: 'billed call', design: 'before' },
				oldAction,
				async (sample) => {
					await underLock(oldAction, async () =>
						helper.checkProcessedAndRecord([`claim-${sample}`], 'node', actionContext, {
							mode: 'entries',
							maxEntries: BEFORE_CAP,
						}),
					);
					return true;
				},
			);
			// Today, delivery: one delivery to the trigger, its execution through the engine; nothing per
			// delivery in static data (what the engine left there is what n8n would save).
			const trigger = await workflow(Math.min(history, TODAY_CAP), 'n:trigger-node');
			const setup = await setUpTrigger(
				{ events: ['completed'], fetchRunDetails: false, output: 'run' },
				credentials,
				{ workflowId: trigger },
			);
			await measure({ history, what: 'delivery', design: 'today' }, trigger, async (sample) => {
				const result = await deliver(setup, {
					body: { event: 'completed', run_id: `records${trigger}x${sample}`, recipe_id: 'r' },
				});
				return (
					result.emitted?.length === 1 && JSON.stringify(setup.workflow.staticData).length <= 2
				);
			});
			// Before, delivery: two entries on a row of up to 10,000, then static data saved.
			const oldTrigger = await workflow(Math.min(history, BEFORE_CAP), 'n:trigger-node');
			const triggerContext = {
				workflow: { id: oldTrigger },
				node: { id: 'trigger-node' },
			} as never;
			const keys = hashes(Math.min(history / 2, BEFORE_STATIC_KEYS), `${oldTrigger}-key`);
			await measure({ history, what: 'delivery', design: 'before' }, oldTrigger, async (sample) => {
				const delivery = `delivery:run${sample}:completed`;
				keys.push(hash(delivery));
				keys.splice(0, keys.length - BEFORE_STATIC_KEYS);
				await underLock(oldTrigger, async () =>
					helper.checkProcessedAndRecord(
						[delivery, `${delivery}:${sample}`],
						'node',
						triggerContext,
						{
							mode: 'entries',
							maxEntries: BEFORE_CAP,
						},
					),
				);
				// As n8n saves static data after an execution (WorkflowStaticDataService).
				await workflows.update(oldTrigger, {
					staticData: { 'node:WebScrape AI Trigger': { keys } },
				});
				return true;
			});
		}
	} finally {
		await sim.stop();
		await connection.close();
	}
	fs.writeFileSync(out, JSON.stringify(figures));
}

// ---- parent: both databases, the table ---------------------------------------------------------

function runChild(database: string, env: NodeJS.ProcessEnv): Figure[] {
	const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-records-')), 'figures.json');
	// This script again (process.argv[1]), as the child of one database.
	const child = childProcess.spawnSync(
		process.execPath,
		[process.argv[1], '--db', database, '--out', out, ...(SHORT ? ['--short'] : [])],
		{
			env: {
				...env,
				N8N_USER_FOLDER: path.dirname(out),
				DB_TYPE: database,
				N8N_LOG_LEVEL: 'warn',
				N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
			},
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
		},
	);
	if (child.status !== 0) {
		throw new Error(
			`records on ${database} failed:\n${child.stdout.slice(-2000)}\n${child.stderr.slice(-4000)}`,
		);
	}
	return JSON.parse(fs.readFileSync(out, 'utf8')) as Figure[];
}

async function main(): Promise<void> {
	const at = process.argv.indexOf('--db');
	if (at >= 0) {
		await measureOn(
			process.argv[at + 1] as 'sqlite' | 'postgresdb',
			process.argv[process.argv.indexOf('--out') + 1],
		);
		// n8n's database connection and the engine keep timers alive: the figures are written.
		process.exit(0);
	}
	print(
		"\n4c. Records on n8n's own helper (n8n 1.123.81) over SQLite and Postgres: bytes written per billed call and per delivery, by history",
	);
	const figures = runChild('sqlite', process.env);
	const queue = requireModule<{
		ensureServices(): void;
		startPostgres(root: string): Promise<{ port: number; stop(): void }>;
	}>(path.join(PACKAGE_ROOT, 'e2e', 'queue.js'));
	queue.ensureServices();
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-records-pg-'));
	// Postgres runs as its own user, which must enter the folder.
	fs.chmodSync(root, 0o755);
	const postgres = await queue.startPostgres(root);
	try {
		figures.push(
			...runChild('postgresdb', {
				...process.env,
				DB_POSTGRESDB_HOST: '127.0.0.1',
				DB_POSTGRESDB_PORT: String(postgres.port),
				DB_POSTGRESDB_USER: 'n8n',
				DB_POSTGRESDB_DATABASE: 'n8n',
			}),
		);
	} finally {
		postgres.stop();
		fs.rmSync(root, { recursive: true, force: true });
	}
	const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
	const lines = [
		`Measured ${new Date().toISOString().slice(0, 10)} (${SHORT ? 'short' : 'full'} mode, mean of ${SAMPLES} calls per figure) on n8n 1.123.81's DeduplicationHelper.`,
		'',
		'| database | history | what | written today (largest row) | written before (largest row) | today / before |',
		'|---|---|---|---|---|---|',
	];
	let ok = true;
	for (const database of ['sqlite', 'postgresdb']) {
		const first = new Map<string, number>();
		for (const history of HISTORIES) {
			for (const what of ['billed call', 'delivery'] as const) {
				const find = (design: string) =>
					figures.find(
						(one) =>
							one.database === database &&
							one.history === history &&
							one.what === what &&
							one.design === design,
					)!;
				const today = find('today');
				const before = find('before');
				first.set(what, first.get(what) ?? today.bytes);
				// Flat: today's cost after 100,000 records within 25 % of its cost after 1,000; rows ≤ 60 KB.
				const flat = today.bytes <= 1.25 * first.get(what)!;
				const fits = today.largestRow <= 60 * 1024;
				ok &&= today.ok && flat && fits;
				const line = `| ${database === 'sqlite' ? 'SQLite' : 'Postgres'} | ${history.toLocaleString('en')} | ${what} | ${kb(today.bytes)} (${kb(today.largestRow)}) | ${kb(before.bytes)} (${kb(before.largestRow)}) | ${(today.bytes / before.bytes).toFixed(2)}× |`;
				lines.push(line);
				print(`  ${today.ok && flat && fits ? '✓' : '✗'} ${line}`);
			}
		}
	}
	const file = path.join(
		PACKAGE_ROOT,
		'bench',
		'results',
		SHORT ? 'records-real-short.md' : 'records-real.md',
	);
	fs.writeFileSync(file, `${lines.join('\n')}\n`);
	print(`  written to ${path.relative(PACKAGE_ROOT, file)}`);
	if (!ok) {
		printError(
			"records: a figure of today's design grew with history, a row passed 60 KB, or a call failed",
		);
		process.exit(1);
	}
}

main().catch((error: unknown) => {
	printError(error);
	process.exit(1);
});
