'use strict';
/**
 * `npm run compat:check [-- <n8n-workflow dir>=<label> ...]`: every name the built package takes
 * from n8n at run time must exist, taking the arguments we pass, in the n8n-workflow of each n8n
 * release we support. Without arguments it checks the n8n-workflow inside each release the e2e
 * installs (.cache/n8n-<version>, installed first when missing) and the one the engine tests use.
 *
 * What it reads from dist/: `require()`s (n8n-workflow, Node built-ins, our own files; anything
 * else is a dependency n8n does not provide), each `n8n_workflow_N.Name` with the most arguments
 * it is called or constructed with, names used only behind `typeof … === 'function'` (optional,
 * with the fallback below), and the context helpers and methods n8n hands a node. What it reads from
 * each n8n-workflow: its exports at run time (loaded by that release's own Node) and their
 * declared parameters and the node-context interfaces from its type declarations (TypeScript).
 * Exits 1 naming each missing export or short signature and the release.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '..');

/**
 * Names the package uses only where the running n8n has them, and what it uses instead (`name`:
 * another export; `otherwise`: what differs where neither fits). Keep in step with
 * nodes/WebScrapeAi/transport/pause.ts and nodes/WebScrapeAi/core/connections.ts.
 */
const FALLBACKS = {
	NodeConnectionTypes: {
		// n8n before 1.85: nodes/WebScrapeAi/core/connections.ts.
		otherwise: "the nodes' inputs and outputs use its value 'main'",
	},
	sleepWithAbort: {
		name: 'sleep',
		minParams: 2,
		why: 'without sleepWithAbort (n8n-workflow 2.41 on), waits sleep with sleep(ms, signal)',
		// n8n 1.70 to 1.100: neither takes a signal. Not a problem, a difference README states.
		otherwise:
			"sleep takes no signal: a cancelled execution's waits end within 1 s (pause.ts sleeps in slices of at most 1 s), not at once",
	},
};

/**
 * The n8n releases checked besides the two the e2e installs (the newest of each line) and the
 * engine tests': each line's floor, which README's Compatibility table states (release:check
 * compares), and releases between. Only their n8n-workflow is installed (seconds), into .cache/.
 */
const MATRIX = [
	{ n8n: '1.70.0', workflow: '1.69.0', floor: 1 },
	{ n8n: '1.85.4', workflow: '1.83.0' },
	{ n8n: '1.100.1', workflow: '1.97.0' },
	{ n8n: '1.101.1', workflow: '1.98.0' },
	{ n8n: '2.0.3', workflow: '2.0.1', floor: 2 },
];

/** The n8n context interfaces whose methods and helpers a node may call. */
const CONTEXTS = [
	'IExecuteFunctions',
	'IWebhookFunctions',
	'IHookFunctions',
	'ILoadOptionsFunctions',
];

function distFiles(dir) {
	const out = [];
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) out.push(...distFiles(full));
		else if (entry.name.endsWith('.js')) out.push(full);
	}
	return out;
}

/** `x.name` in the true branch of `typeof x.name === 'function' ? … : …` (or of such an if). */
function isGuarded(node, source) {
	const text = node.getText(source);
	for (let outer = node.parent; outer; outer = outer.parent) {
		const condition = ts.isConditionalExpression(outer)
			? outer.condition
			: ts.isIfStatement(outer)
				? outer.expression
				: undefined;
		if (condition && condition.getText(source).includes(`typeof ${text}`)) return true;
	}
	return false;
}

/** What the built package takes from n8n at run time, read from the compiled files' syntax. */
function usage(distDir) {
	const uses = new Map(); // name -> { args, guardedOnly, files }
	const modules = new Map(); // module -> files
	const contextNames = new Map(); // method/helper -> kind
	for (const file of distFiles(distDir)) {
		const rel = path.relative(ROOT, file);
		const source = ts.createSourceFile(
			file,
			fs.readFileSync(file, 'utf8'),
			ts.ScriptTarget.Latest,
			true,
		);
		const workflowVars = new Set();
		const isRequire = (node) =>
			ts.isCallExpression(node) &&
			ts.isIdentifier(node.expression) &&
			node.expression.text === 'require' &&
			node.arguments.length === 1 &&
			ts.isStringLiteral(node.arguments[0]);
		const visit = (node) => {
			if (isRequire(node)) {
				const name = node.arguments[0].text;
				if (!modules.has(name)) modules.set(name, new Set());
				modules.get(name).add(rel);
				if (name === 'n8n-workflow' && ts.isVariableDeclaration(node.parent))
					workflowVars.add(node.parent.name.getText(source));
			}
			if (ts.isPropertyAccessExpression(node)) {
				const target = node.expression;
				const name = node.name.text;
				if (ts.isIdentifier(target) && workflowVars.has(target.text)) {
					const entry = uses.get(name) ?? { args: 0, guardedOnly: true, files: new Set() };
					entry.files.add(rel);
					let outer = node.parent;
					// `(0, n8n_workflow_1.sleep)(…)` is how TypeScript compiles a named import's call.
					while (ts.isParenthesizedExpression(outer) || ts.isBinaryExpression(outer))
						outer = outer.parent;
					if (!ts.isTypeOfExpression(node.parent) && !isGuarded(node, source))
						entry.guardedOnly = false;
					if ((ts.isCallExpression(outer) || ts.isNewExpression(outer)) && outer.arguments)
						entry.args = Math.max(entry.args, outer.arguments.length);
					uses.set(name, entry);
				}
				if (ts.isPropertyAccessExpression(target) && target.name.text === 'helpers')
					contextNames.set(name, 'helper');
				if (
					(target.kind === ts.SyntaxKind.ThisKeyword ||
						(ts.isIdentifier(target) && target.text === 'context')) &&
					/^(get[A-Z]\w*|continueOnFail|evaluateExpression)$/.test(name) &&
					ts.isCallExpression(node.parent)
				)
					contextNames.set(name, 'method');
			}
			ts.forEachChild(node, visit);
		};
		visit(source);
	}
	return { uses, modules, contextNames };
}

function maxParams(signatures) {
	let max = -1;
	for (const signature of signatures) {
		const params = signature.getParameters();
		const decl = signature.getDeclaration();
		const rest = decl?.parameters?.some((parameter) => parameter.dotDotDotToken);
		max = Math.max(max, rest ? Infinity : params.length);
	}
	return max;
}

/** Declared parameters of each export, and the members of the node-context interfaces. */
function declarations(workflowDir) {
	const manifest = JSON.parse(fs.readFileSync(path.join(workflowDir, 'package.json'), 'utf8'));
	const typesFile = path.join(workflowDir, manifest.types ?? manifest.typings ?? 'dist/index.d.ts');
	const program = ts.createProgram([typesFile], {
		skipLibCheck: true,
		noEmit: true,
		moduleResolution: ts.ModuleResolutionKind.Node10,
		types: [],
	});
	const checker = program.getTypeChecker();
	const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(typesFile));
	const exports = new Map();
	const contextMembers = { method: new Set(), helper: new Set() };
	for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
		const resolved =
			symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
		const decl = resolved.valueDeclaration ?? resolved.declarations?.[0];
		if (!decl) continue;
		const type = checker.getTypeOfSymbolAtLocation(resolved, decl);
		const calls = type.getCallSignatures();
		const constructs = type.getConstructSignatures();
		exports.set(symbol.name, {
			params: Math.max(maxParams(calls), maxParams(constructs)),
		});
		if (CONTEXTS.includes(symbol.name)) {
			const declared = checker.getDeclaredTypeOfSymbol(resolved);
			for (const member of checker.getPropertiesOfType(declared)) {
				contextMembers.method.add(member.name);
				if (member.name === 'helpers') {
					const helpers = checker.getTypeOfSymbolAtLocation(member, decl);
					for (const helper of checker.getPropertiesOfType(helpers))
						contextMembers.helper.add(helper.name);
				}
			}
		}
	}
	return { exports, contextMembers, version: manifest.version };
}

/** Exports and their kinds as the n8n-workflow in `workflowDir` has them at run time. */
function runtimeExports(workflowDir, nodeBinary) {
	const script = `const m = require(${JSON.stringify(workflowDir)}); const out = {}; for (const k of Object.keys(m)) out[k] = typeof m[k]; out.__builtins = require('node:module').builtinModules; process.stdout.write(JSON.stringify(out));`;
	return JSON.parse(
		execFileSync(nodeBinary, ['-e', script], { encoding: 'utf8', maxBuffer: 16 << 20 }),
	);
}

/** Every problem of the built package in `distDir` against the n8n-workflow in `workflowDir`. */
function check(distDir, workflowDir, label, nodeBinary = process.execPath) {
	workflowDir = path.resolve(workflowDir);
	const problems = [];
	const { uses, modules, contextNames } = usage(distDir);
	const runtime = runtimeExports(workflowDir, nodeBinary);
	const builtins = new Set(runtime.__builtins);
	const { exports, contextMembers, version } = declarations(workflowDir);
	const where = `n8n-workflow ${version} (${label})`;
	const notes = [];

	for (const [name, files] of modules) {
		if (name === 'n8n-workflow' || name.startsWith('.')) continue;
		const bare = name.replace(/^node:/, '');
		if (!builtins.has(bare))
			problems.push(`${[...files][0]} requires "${name}", which n8n does not provide (${label})`);
	}
	for (const [name, use] of uses) {
		const present = runtime[name] !== undefined && runtime[name] !== 'undefined';
		const fallback = FALLBACKS[name];
		if (!present) {
			if (use.guardedOnly && fallback && !fallback.name) {
				notes.push(`no ${name}; ${fallback.otherwise}`);
				continue;
			}
			if (use.guardedOnly && fallback) {
				const alternative = exports.get(fallback.name);
				if (runtime[fallback.name] !== 'function' || !alternative)
					problems.push(`${where} has neither ${name} nor ${fallback.name}: ${fallback.why}`);
				else if (alternative.params < fallback.minParams && fallback.otherwise)
					notes.push(`no ${name}; ${fallback.otherwise}`);
				else if (alternative.params < fallback.minParams)
					problems.push(
						`${where} has no ${name}, and its ${fallback.name} takes ${alternative.params} argument(s), not ${fallback.minParams}: ${fallback.why}`,
					);
				continue;
			}
			problems.push(
				`${where} does not export ${name}, which ${[...use.files][0]} uses${use.guardedOnly ? ' (guarded, but no fallback is declared in FALLBACKS)' : ''}`,
			);
			continue;
		}
		const declared = exports.get(name);
		if (use.args > 0 && declared && declared.params >= 0 && declared.params < use.args)
			problems.push(
				`${where}: ${name} takes ${declared.params} argument(s), but ${[...use.files][0]} passes ${use.args}`,
			);
	}
	for (const [name, kind] of contextNames) {
		const known = kind === 'helper' ? contextMembers.helper : contextMembers.method;
		if (known.has(name)) continue;
		problems.push(
			`${where}: the node context has no ${kind === 'helper' ? `helpers.${name}` : `${name}()`}, which the package calls`,
		);
	}
	return {
		problems,
		notes,
		version,
		checked:
			uses.size +
			contextNames.size +
			[...modules.keys()].filter((name) => !name.startsWith('.')).length,
	};
}

/** MATRIX's n8n-workflow of `release`, installed once into .cache/compat/. */
function ensureWorkflow({ workflow }) {
	const { CACHE, installEnv } = require('../e2e/n8n');
	const dir = path.join(CACHE, 'compat', `n8n-workflow-${workflow}`);
	const installed = path.join(dir, 'node_modules', 'n8n-workflow');
	if (!fs.existsSync(path.join(dir, '.installed'))) {
		fs.mkdirSync(dir, { recursive: true });
		fs.writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
		execFileSync(
			'npm',
			['install', '--ignore-scripts', '--no-audit', '--no-fund', `n8n-workflow@${workflow}`],
			{ cwd: dir, env: installEnv(), stdio: ['ignore', 'ignore', 'inherit'] },
		);
		fs.writeFileSync(path.join(dir, '.installed'), new Date().toISOString());
	}
	return installed;
}

/** The n8n-workflow each supported release runs our code with, and that release's Node. */
function releaseTargets() {
	const n8n = require('../e2e/n8n');
	const targets = MATRIX.map((release) => ({
		workflowDir: ensureWorkflow(release),
		label: `n8n ${release.n8n}${release.floor ? ` (line ${release.floor}'s floor)` : ''}`,
		nodeBinary: process.execPath,
	}));
	for (const line of [1, 2]) {
		const dir = n8n.ensureN8n(line);
		const n8nPackage = path.join(dir, 'node_modules', 'n8n');
		const workflowDir = path.dirname(
			require.resolve('n8n-workflow/package.json', { paths: [n8nPackage] }),
		);
		const nodeBinary =
			n8n.LINES[line].node === 24 ? path.join(n8n.ensureNode24().bin, 'node') : process.execPath;
		targets.push({ workflowDir, label: `n8n ${n8n.LINES[line].version}`, nodeBinary });
	}
	targets.push({
		workflowDir: path.dirname(require.resolve('n8n-workflow/package.json', { paths: [ROOT] })),
		label: 'the engine tests',
		nodeBinary: process.execPath,
	});
	return targets;
}

if (require.main === module && process.argv.includes('--install-only')) {
	// CI installs the matrix's n8n-workflows at its start, beside its other installs.
	for (const release of MATRIX) ensureWorkflow(release);
	process.exit(0);
}

if (require.main === module) {
	const list = process.argv.includes('--list');
	const args = process.argv.slice(2).filter((arg) => arg !== '--list');
	if (list) {
		const { uses, modules, contextNames } = usage(path.join(ROOT, 'dist'));
		for (const [name, use] of uses)
			console.log(
				`n8n-workflow.${name}${use.args ? ` (${use.args} args)` : ''}${use.guardedOnly ? ' guarded' : ''}`,
			);
		for (const [name, kind] of contextNames) console.log(`context ${kind} ${name}`);
		for (const name of modules.keys()) if (!name.startsWith('.')) console.log(`require ${name}`);
	}
	const targets = args.length
		? args.map((arg) => {
				const [dir, label = dir] = arg.split('=');
				return { workflowDir: path.resolve(dir), label, nodeBinary: process.execPath };
			})
		: releaseTargets();
	let failed = false;
	const verdicts = [];
	for (const target of targets) {
		const { problems, notes, version, checked } = check(
			path.join(ROOT, 'dist'),
			target.workflowDir,
			target.label,
			target.nodeBinary,
		);
		if (problems.length) {
			failed = true;
			for (const problem of problems) console.error(`✗ ${problem}`);
		} else {
			console.log(
				`✓ ${target.label}: n8n-workflow ${version} has all ${checked} names the package uses${notes.length ? `; ${notes.join('; ')}` : ''}`,
			);
		}
		verdicts.push(
			`| ${target.label} | ${version} | ${problems.length ? `✗ ${problems.join('; ')}` : `✓ ${notes.length ? notes.join('; ') : 'all names fit'}`} |`,
		);
	}
	console.log(
		['', '| n8n release | its n8n-workflow | verdict |', '|---|---|---|', ...verdicts].join('\n'),
	);
	process.exit(failed ? 1 : 0);
}

module.exports = { check, usage, ensureWorkflow, FALLBACKS, MATRIX };
