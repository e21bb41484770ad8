'use strict';
/**
 * `npm run release:check [-- <package dir>]`: packs the package as `npm publish` would and checks
 * what ships, the way n8n's verification guidelines and its community-package scanner look at it.
 * Prints every problem found and exits 1 when there is any; nothing reaches npm that fails here.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const ALLOWED = [/^dist\//, /^package\.json$/, /^README\.md$/i, /^LICEN[SC]E(\.md)?$/i];

function run(command, args, options) {
	return execFileSync(command, args, {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
		maxBuffer: 64 << 20,
		...options,
	});
}

/** Node and npm that npm's trusted publishing (OIDC) needs. */
const TRUSTED_NODE = [22, 14];
const TRUSTED_NPM = [11, 5, 1];

/** "22.14" or "24" → [22, 14]; whether `version` is at least `least`. */
function atLeast(version, least) {
	const parts = String(version)
		.replace(/^[^\d]*/, '')
		.split('.')
		.map(Number);
	for (let index = 0; index < least.length; index++) {
		const part = parts[index] ?? 0;
		if (part !== least[index]) return part > least[index];
	}
	return true;
}

/**
 * What is wrong with the publish workflow's text for npm's trusted publishing: no stored token, an
 * OIDC token for the job, Node 22.14+ and npm 11.5.1+, and a publish with provenance.
 */
function publishWorkflowProblems(text) {
	const yaml = require('js-yaml');
	const problems = [];
	const doc = yaml.load(text) ?? {};
	if (/NODE_AUTH_TOKEN|NPM_TOKEN|secrets\./.test(text))
		problems.push(
			'the publish workflow uses a stored token (NODE_AUTH_TOKEN or a secret): npm revoked classic tokens; publish with trusted publishing (OIDC) instead',
		);
	if (doc.permissions?.['id-token'] !== 'write')
		problems.push(
			'the publish workflow does not give its job an OIDC token (permissions: id-token: write)',
		);
	const steps = Object.values(doc.jobs ?? {}).flatMap((job) => job.steps ?? []);
	const setup = steps.find((step) => String(step.uses ?? '').startsWith('actions/setup-node'));
	const node = setup?.with?.['node-version'];
	if (node === undefined || !atLeast(node, TRUSTED_NODE))
		problems.push(
			`the publish workflow runs Node ${node ?? '(unset)'}: trusted publishing needs ${TRUSTED_NODE.join('.')} or later`,
		);
	const runs = steps.map((step) => String(step.run ?? ''));
	const npm = runs.map((run) => /npm (?:install|i) -g npm@\^?([\d.]+)/.exec(run)).find(Boolean);
	if (!npm || !atLeast(npm[1], TRUSTED_NPM))
		problems.push(
			`the publish workflow does not install npm ${TRUSTED_NPM.join('.')} or later, which trusted publishing needs`,
		);
	if (!runs.some((run) => /^npm publish\b.*--provenance/.test(run)))
		problems.push('the publish workflow does not run npm publish --provenance');
	return problems;
}

/**
 * README's Compatibility section states each line's floor ("n8n 1.70 and later on 1.x, 2.0 and
 * later on 2.x"); it must be the floor compat:check checks (MATRIX in scripts/compat-check.js),
 * so README never promises a release no check ran on.
 */
function floorProblems(readme) {
	const { MATRIX } = require('./compat-check');
	const stated = /n8n (\d+\.\d+) and later on 1\.x, (\d+\.\d+) and later on 2\.x/.exec(readme);
	if (!stated)
		return [
			'README.md does not state the oldest n8n of each line ("n8n <version> and later on 1.x, <version> and later on 2.x")',
		];
	const problems = [];
	for (const line of [1, 2]) {
		const floor = MATRIX.find((release) => release.floor === line);
		const checked = floor?.n8n.split('.').slice(0, 2).join('.');
		if (stated[line] !== checked)
			problems.push(
				`README.md says n8n ${stated[line]} and later on ${line}.x, but compat:check's oldest ${line}.x release is ${floor?.n8n ?? 'none'} (MATRIX in scripts/compat-check.js)`,
			);
	}
	return problems;
}

/** README sections n8n's verification asks for (its README template), as headings of ours. */
const README_SECTIONS = [
	['how to install it', /^## .*\binstall/im],
	['how to set up the credential', /^## .*\bcredential/im],
	['the operations', /^## Operations\b/im],
	['compatibility with n8n versions', /^## Compatibility\b/im],
];
/** A letter of a script other than Latin: the nodes and their manual must be in English. */
const OTHER_SCRIPT = /(?![\p{Script=Latin}])\p{L}/u;

/**
 * What n8n's verification guidelines ask that the repository itself can show, beyond what ships:
 * the package's name, a README with the template's sections and a link to the service's docs,
 * example workflows of every node, the MIT licence text, and English (no other script) in the
 * README and the shipped node descriptions (`texts`: file name → text).
 */
function verificationProblems(dir, manifest, texts) {
	const problems = [];
	if (!/^(@[a-z0-9-~][a-z0-9-._~]*\/)?n8n-nodes-/.test(manifest.name ?? ''))
		problems.push(
			`the package name ${manifest.name} does not start with n8n-nodes- (or @scope/n8n-nodes-)`,
		);
	const readmeFile = path.join(dir, 'README.md');
	const readme = fs.existsSync(readmeFile) ? fs.readFileSync(readmeFile, 'utf8') : '';
	for (const [what, heading] of README_SECTIONS)
		if (!heading.test(readme)) problems.push(`README.md has no section on ${what}`);
	if (manifest.homepage && !readme.includes(manifest.homepage))
		problems.push(`README.md does not link the service's documentation (${manifest.homepage})`);
	const licence = path.join(dir, 'LICENSE');
	if (fs.existsSync(licence) && !/^MIT License/.test(fs.readFileSync(licence, 'utf8')))
		problems.push('LICENSE is not the MIT licence text');
	for (const [file, text] of Object.entries({ 'README.md': readme, ...texts })) {
		const other = OTHER_SCRIPT.exec(text);
		if (other) {
			const at = text.slice(Math.max(0, other.index - 30), other.index + 30).replace(/\s+/g, ' ');
			problems.push(`${file} is not all English: "${at}"`);
		}
	}
	const examples = path.join(dir, 'examples');
	const nodeTypes = new Set();
	for (const file of fs.existsSync(examples) ? fs.readdirSync(examples) : []) {
		if (!file.endsWith('.json')) continue;
		try {
			const workflow = JSON.parse(fs.readFileSync(path.join(examples, file), 'utf8'));
			for (const node of workflow.nodes ?? []) nodeTypes.add(node.type);
		} catch {
			problems.push(`examples/${file} is not a workflow (JSON)`);
		}
	}
	for (const entry of manifest.n8n?.nodes ?? []) {
		const type = `${manifest.name}.${path.basename(entry, '.node.js').replace(/^./, (c) => c.toLowerCase())}`;
		if (!nodeTypes.has(type)) problems.push(`no example workflow in examples/ uses ${type}`);
	}
	return problems;
}

/** The output schemas under `nodesDir` (`<Node>/__schema__/...json`), as POSIX paths below it. */
function schemaFiles(nodesDir, below = '') {
	if (!fs.existsSync(path.join(nodesDir, below))) return [];
	return fs.readdirSync(path.join(nodesDir, below), { withFileTypes: true }).flatMap((entry) => {
		const relative = below ? `${below}/${entry.name}` : entry.name;
		if (entry.isDirectory()) return schemaFiles(nodesDir, relative);
		return relative.includes('/__schema__/') && entry.name.endsWith('.json') ? [relative] : [];
	});
}

/** Every problem with the package in `dir`, as sentences; empty when it is ready to publish. */
function check(dir, { tag } = {}) {
	const problems = [];
	const workflow = path.join(dir, '.github', 'workflows', 'publish.yml');
	if (fs.existsSync(workflow))
		problems.push(...publishWorkflowProblems(fs.readFileSync(workflow, 'utf8')));
	else problems.push('.github/workflows/publish.yml is missing');
	const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
	const version = manifest.version;
	if (tag !== undefined && tag !== `v${version}`) {
		problems.push(
			`the tag ${tag} does not match package.json's version ${version} (expected v${version})`,
		);
	}

	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-release-'));
	try {
		const packed = JSON.parse(
			run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: dir }),
		)[0];
		const files = packed.files.map((file) => file.path);
		console.log(`packed ${packed.filename}: ${files.length} files, ${packed.size} bytes`);

		for (const file of files) {
			if (!ALLOWED.some((pattern) => pattern.test(file))) {
				problems.push(`ships a file outside dist/, package.json, README and LICENSE: ${file}`);
			}
		}
		if (!files.some((file) => /^LICEN[SC]E/i.test(file))) problems.push('ships no LICENSE file');
		if (!files.some((file) => /^README\.md$/i.test(file))) problems.push('ships no README.md');

		const n8n = manifest.n8n ?? {};
		const declared = [...(n8n.credentials ?? []), ...(n8n.nodes ?? [])];
		if (!n8n.nodes?.length) problems.push('package.json has no n8n.nodes entry');
		for (const file of declared) {
			if (!files.includes(path.posix.normalize(file))) {
				problems.push(`package.json's n8n section names ${file}, which is not in the tarball`);
			}
		}

		// The output schemas n8n's editor previews before a run (nodes/**/__schema__) ship beside
		// the compiled nodes, each one the editor would show (a type and fields).
		for (const schema of schemaFiles(path.join(dir, 'nodes'))) {
			const shipped = path.posix.join('dist', 'nodes', schema);
			if (!files.includes(shipped))
				problems.push(`the output schema ${shipped} is not in the tarball`);
			const parsed = JSON.parse(fs.readFileSync(path.join(dir, 'nodes', schema), 'utf8'));
			if (parsed.type !== 'object' || !Object.keys(parsed.properties ?? {}).length)
				problems.push(`the output schema nodes/${schema} has no fields for the editor to show`);
		}

		for (const field of [
			'dependencies',
			'optionalDependencies',
			'bundleDependencies',
			'bundledDependencies',
		]) {
			const value = manifest[field];
			const names = Array.isArray(value) ? value : Object.keys(value ?? {});
			if (names.length)
				problems.push(`has runtime ${field}: ${names.join(', ')} (n8n requires none)`);
		}
		if (manifest.license !== 'MIT')
			problems.push(`license is ${manifest.license ?? 'missing'}, not MIT`);
		if (!(manifest.keywords ?? []).includes('n8n-community-node-package')) {
			problems.push('keywords lack "n8n-community-node-package" (n8n cannot find it without)');
		}
		if (!/github\.com/.test(manifest.repository?.url ?? '')) {
			problems.push('repository.url names no GitHub repository (npm provenance checks it)');
		}

		const changelog = path.join(dir, 'CHANGELOG.md');
		if (!fs.existsSync(changelog)) {
			problems.push('CHANGELOG.md is missing');
		} else {
			const text = fs.readFileSync(changelog, 'utf8');
			const heading = new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\]`, 'm');
			if (!heading.test(text)) problems.push(`CHANGELOG.md has no "## [${version}]" entry`);
		}
		const readme = path.join(dir, 'README.md');
		if (fs.existsSync(readme) && !fs.readFileSync(readme, 'utf8').includes(version)) {
			problems.push(`README.md does not mention version ${version}`);
		}

		// The scanner's rule sets, on the files as they ship.
		const unpacked = path.join(work, 'package');
		run('tar', ['-xzf', path.join(work, packed.filename), '-C', work]);
		const shippedCode = Object.fromEntries(
			files
				.filter((file) => /^dist\/.*\.js$/.test(file))
				.map((file) => [file, fs.readFileSync(path.join(unpacked, file), 'utf8')]),
		);
		problems.push(...verificationProblems(dir, manifest, shippedCode));
		const readmeFile = path.join(dir, 'README.md');
		problems.push(
			...floorProblems(fs.existsSync(readmeFile) ? fs.readFileSync(readmeFile, 'utf8') : ''),
		);
		if (files.some((file) => file.endsWith('.js'))) {
			try {
				run(
					path.join(REPO, 'node_modules', '.bin', 'eslint'),
					['-c', path.join(REPO, 'eslint.dist.config.mjs'), 'dist/**/*.js', 'package.json'],
					{ cwd: unpacked },
				);
			} catch (error) {
				const report = String(error.stdout || error.message)
					.split('\n')
					.filter((line) => line.trim())
					.slice(0, 20)
					.join('\n    ');
				problems.push(`the community-package scanner's rules fail on the tarball:\n    ${report}`);
			}
		}
	} finally {
		fs.rmSync(work, { recursive: true, force: true });
	}
	return problems;
}

if (require.main === module) {
	const args = process.argv.slice(2);
	const tagAt = args.indexOf('--tag');
	const tag = tagAt >= 0 ? (args.splice(tagAt, 2)[1] ?? '') : undefined;
	const dir = path.resolve(args[0] ?? REPO);
	const problems = check(dir, { tag });
	if (problems.length) {
		console.error(
			`\nNot ready to publish (${problems.length} problem${problems.length === 1 ? '' : 's'}):`,
		);
		for (const problem of problems) console.error(`  - ${problem}`);
		process.exit(1);
	}
	const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
	console.log(`release check passed: n8n-nodes-webscrape-ai ${version} is ready to publish`);
}

module.exports = { check, floorProblems, publishWorkflowProblems, verificationProblems };
