import { FOLD_STEP } from '../../nodes/WebScrapeAi/exactlyOnce/billedCallRecord';
import {
	CLAIM_ENTRIES,
	DELIVERY_ENTRIES,
	RECORD_RETRY_STEP_MS,
	RECORD_TRIES,
} from '../../nodes/WebScrapeAi/exactlyOnce/nodeRow';
import {
	FAILED_CHECKS_PER_TRY,
	NO_LOCK_MEMORY_MS,
	PROMPT_MS,
	STALE_AFTER_MS,
} from '../../nodes/WebScrapeAi/exactlyOnce/rowLock';
import { EMITTED_MEMORY } from '../../nodes/WebScrapeAiTrigger/emitted';
import { fs, PACKAGE_ROOT, path } from '../harness/host';

/**
 * The manual and the design notes stay true: the README is short and every command in it is one
 * CI runs as written on a clean clone, every link resolves, and every test docs/exactly-once.md
 * names next to an invariant exists.
 */
const ROOT = PACKAGE_ROOT;
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');
/** What each `step NAME "WHAT" COMMAND...` of .ci/run runs (continuation lines joined). */
const ciCommands = [
	...read('.ci/run')
		.replace(/\\\n\s*/g, ' ')
		.matchAll(/^(?:step|beside) \S+ "(?:[^"\\]|\\.)*"\s+(.+)$/gm),
].map((step) => step[1].trim());
const scripts = Object.keys(JSON.parse(read('package.json')).scripts as Record<string, string>);

/** Commands a user runs that CI cannot run as written, and what CI does instead. */
const USER_ONLY: Record<string, string> = {
	'cd ~/.n8n/nodes && npm install n8n-nodes-webscrape-ai':
		"installs the published package from the npm registry into a user's n8n; the e2e suites install the packed tarball into n8n's user folder the same way (e2e/n8n.js installPackageInto)",
	[`curl -X POST '<Test URL>' -H 'Content-Type: application/json' -H 'Authorization: Bearer <Webhook Header Value>' -d '{"event":"completed","run_id":"<an earlier run ID>","status":"completed","timestamp":"2026-05-21T17:43:10Z"}'`]:
		"posts a sample delivery to a user's trigger; test/trigger/trigger.test.ts sends this body and header, with a run ID filled in, through n8n's webhook path and checks the workflow starts with that run",
};

/** Every file below `dir` (relative to the root). */
const filesBelowRoot = (dir: string): string[] =>
	fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
		const relative = path.join(dir, entry.name);
		return entry.isDirectory() ? filesBelowRoot(relative) : [relative];
	});

/** Shell commands in the README: every line of its sh blocks, and inline code that starts with a command. */
function readmeCommands(): string[] {
	const commands: string[] = [];
	for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g))
		for (const line of block[1].split('\n')) {
			const command = line.replace(/#.*$/, '').trim();
			if (command) commands.push(command);
		}
	const prose = readme.replace(/```[\s\S]*?```/g, '');
	for (const inline of prose.matchAll(/`((?:npm|npx|node|cd) [^`]+)`/g)) commands.push(inline[1]);
	return [...new Set(commands)];
}

describe('README: a user manual whose commands CI runs', () => {
	test('at most 350 lines', () => {
		expect(readme.split('\n').length).toBeLessThanOrEqual(350);
	});

	test('every command is an npm script or npm install, and .ci/run runs it as written', () => {
		const commands = readmeCommands();
		expect(commands).toEqual(expect.arrayContaining(['npm install', 'npm test', 'npm start']));
		for (const command of commands) {
			if (command in USER_ONLY) continue;
			const npm = /^npm (?:run )?([\w:-]+)/.exec(command);
			expect(npm).not.toBeNull();
			const script = npm![1];
			if (script !== 'install') expect(scripts).toContain(script);
			// A step of .ci/run runs the command itself, perhaps with arguments after it.
			const inCi = ciCommands.some((run) => run === command || run.startsWith(`${command} `));
			expect({ command, inCi }).toEqual({ command, inCi: true });
		}
	});

	test('no measured figure: sizes, times and ratios live in docs/performance.md', () => {
		const figures = readme.match(/\b\d+(?:[.,]\d+)?\s?(?:MB|KB|ms)\b|\b\d+(?:\.\d+)?×/g) ?? [];
		expect(figures).toEqual([]);
	});
});

describe('links and named tests in the docs', () => {
	const markdown = [
		'README.md',
		'CONTRIBUTING.md',
		...fs
			.readdirSync(path.join(ROOT, 'docs'))
			.filter((file) => file.endsWith('.md'))
			.map((file) => `docs/${file}`),
	];

	const anchorsOf = (text: string) =>
		new Set(
			[...text.matchAll(/^#+ (.+)$/gm)].map((heading) =>
				heading[1]
					.toLowerCase()
					.replace(/[^\p{L}\p{N} _-]/gu, '')
					.replace(/ /g, '-'),
			),
		);

	test.each(markdown)('%s: every relative link and anchor resolves', (file) => {
		const text = read(file);
		const broken: string[] = [];
		for (const link of text.matchAll(/\]\(([^)\s]+)\)/g)) {
			const target = link[1];
			if (/^[a-z]+:/.test(target)) continue;
			const [relative, anchor] = target.split('#');
			const resolved = relative ? path.join(path.dirname(file), relative) : file;
			if (!fs.existsSync(path.join(ROOT, resolved))) broken.push(target);
			else if (anchor && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor))
				broken.push(target);
		}
		expect(broken).toEqual([]);
	});

	test('docs/exactly-once.md: every invariant names a test, and each named test exists', () => {
		const doc = read('docs/exactly-once.md');
		const rows = doc.split('\n').filter((line) => /^\| [A-Z]\d+ \|/.test(line));
		expect(rows.length).toBeGreaterThanOrEqual(20);
		const missing: string[] = [];
		for (const row of rows) {
			const cell = row.split('|').slice(-2)[0];
			// `path` › "name"; "name" …: each name belongs to the path before it.
			const references = [...cell.matchAll(/`([\w./-]+\.(?:ts|js))`|"([^"]+)"/g)];
			let file: string | undefined;
			let named = 0;
			for (const reference of references) {
				if (reference[1]) {
					file = reference[1];
					continue;
				}
				if (!file) continue;
				named++;
				const source = read(file).replace(/\\'/g, "'");
				const pattern = reference[2]
					.split('…')
					.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
					.join('[^\\n]*?');
				if (!new RegExp(`test\\(\\s*[\`'"]${pattern}`).test(source))
					missing.push(`${row.split('|')[1].trim()}: ${file} › ${reference[2]}`);
			}
			if (named === 0 && !/the same|B\d+'s test|\(L\d\)|\(L\d\)|L\d's/.test(cell))
				missing.push(`${row.split('|')[1].trim()}: names no test`);
		}
		expect(missing).toEqual([]);
	});
});

describe("docs/exactly-once.md's figures and names are the code's", () => {
	const doc = read('docs/exactly-once.md');
	const count = (value: number) => value.toLocaleString('en-US');
	/** Each Bounds row's figure, written from the constant its Where column names. */
	const gaps = Array.from(
		{ length: RECORD_TRIES - 1 },
		(_, index) => RECORD_RETRY_STEP_MS * (index + 1),
	).join(', ');
	const BOUNDS: Record<string, string> = {
		"A node's claims row": `${count(CLAIM_ENTRIES)} entries × 27 B ≈ ${(CLAIM_ENTRIES * 27) / 1000} KB`,
		"The trigger's deliveries row": `${count(DELIVERY_ENTRIES)} entries = the last ${count(DELIVERY_ENTRIES / 2)} deliveries`,
		"A batch's own entries while it runs": `about ${FOLD_STEP} + Concurrency (fold every ${FOLD_STEP} settled items)`,
		'How long a claim protects a later attempt': `while fewer than ${count(CLAIM_ENTRIES)} newer entries of the same node were written`,
		"A process's memory of emitted deliveries": `the last ${count(EMITTED_MEMORY)}`,
		'A lock hold': 'a few statements (milliseconds)',
		'A stale lock': `${STALE_AFTER_MS / 1000} s of checks answered within ${PROMPT_MS / 1000} s each`,
		'Lock checks that fail before a try fails': `${FAILED_CHECKS_PER_TRY} in a row`,
		'Tries to write a record': `${RECORD_TRIES} (${gaps} ms apart)`,
		"Recording without the lock, once the lock row turned out to be another node's (L6)": `${NO_LOCK_MEMORY_MS / 60_000} minutes per workflow and process`,
	};
	const boundsTable = doc.slice(
		doc.indexOf('## Bounds'),
		doc.indexOf('\n## ', doc.indexOf('## Bounds') + 1),
	);
	const rows = boundsTable
		.split('\n')
		.filter((line) => line.startsWith('| ') && !/^\| (What|---)/.test(line))
		.map((line) =>
			line
				.split('|')
				.slice(1, -1)
				.map((cell) => cell.trim()),
		);

	test('every Bounds row states what its constant says', () => {
		expect(Object.fromEntries(rows.map(([what, bound]) => [what, bound]))).toEqual(BOUNDS);
	});

	test("L5 states the lock's and the record's numbers", () => {
		expect(doc).toContain(
			`${FAILED_CHECKS_PER_TRY} lock checks failing in a row fail a try, and ${RECORD_TRIES} failed tries (${FAILED_CHECKS_PER_TRY * RECORD_TRIES} checks, ${gaps.replace(/, (?=\d+$)/, ' and ')} ms between the tries) fail the record`,
		);
	});

	test('every constant, function and file it names exists', () => {
		const sources = filesBelowRoot('nodes').filter((file) => file.endsWith('.ts'));
		const code = sources.map((file) => read(file)).join('\n');
		const missing: string[] = [];
		for (const [, name] of doc.matchAll(/`([^`\s]+)`/g)) {
			if (/^[A-Z][A-Z0-9_]+$|^[a-z]+[A-Z]\w*$/.test(name) && !name.includes('.')) {
				const declared = new RegExp(
					`(?:const|function|class|interface|type)\\s+${name}\\b|\\b${name}\\s*[(:=]|\\.${name}\\b`,
				);
				if (!declared.test(code)) missing.push(name);
			} else if (/\.(ts|js|md)$|\/$/.test(name)) {
				const found =
					[name, `nodes/${name}`, `nodes/WebScrapeAi/${name}`].some((candidate) =>
						fs.existsSync(path.join(ROOT, candidate)),
					) || sources.some((file) => file.endsWith(`/${name}`));
				if (!found) missing.push(name);
			}
		}
		expect(missing).toEqual([]);
	});
});

test("test/unit mirrors every folder of the action node (and the trigger's)", () => {
	const folders = fs
		.readdirSync(path.join(ROOT, 'nodes', 'WebScrapeAi'), { withFileTypes: true })
		.filter((entry) => entry.isDirectory() && !entry.name.startsWith('__'))
		.map((entry) => entry.name);
	const mirrored = [...folders, 'trigger'].filter(
		(folder) =>
			!fs.existsSync(path.join(ROOT, 'test', 'unit', folder)) ||
			!fs
				.readdirSync(path.join(ROOT, 'test', 'unit', folder))
				.some((file) => file.endsWith('.test.ts')),
	);
	expect(mirrored).toEqual([]);
	expect(folders.length).toBeGreaterThanOrEqual(8);
});

describe('CONTRIBUTING.md "Where things live" matches the tree', () => {
	/** Every file below `dir` (relative to the root), for names a row gives without their folder. */
	const filesBelow = (dir: string): string[] =>
		fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
			const relative = path.join(dir, entry.name);
			if (entry.name === 'node_modules' || entry.name.startsWith('.')) return [];
			return entry.isDirectory() ? filesBelow(relative) : [relative];
		});
	const section = /## Where things live\n([\s\S]*?)\n\n/.exec(read('CONTRIBUTING.md'))?.[1] ?? '';
	const rows = section
		.split('\n')
		.filter((line) => line.startsWith('| `'))
		.map((line) => line.split('|').slice(1, 3));

	test('it has rows', () => {
		expect(rows.length).toBeGreaterThanOrEqual(10);
	});

	test.each(rows.map(([where, what]) => [where.trim(), what]))('%s', (where, what) => {
		const missing: string[] = [];
		// A bare name after a path is in that path's folder ("`actions/*.description.ts`, `properties.ts`").
		let base = '';
		const places = [...where.matchAll(/`([^`]+)`/g)].map((match) => {
			if (!match[1].includes('/')) return `${base}${match[1]}`;
			base = match[1].slice(0, match[1].lastIndexOf('/') + 1);
			return match[1];
		});
		for (const place of places) {
			// A pattern (`actions/<resource>/<op>.operation.ts`, `*.description.ts`): its folder exists.
			const fixed = place.split(/[<*]/)[0];
			const existing = /[<*]/.test(place) ? fixed.slice(0, fixed.lastIndexOf('/') + 1) : place;
			if (!fs.existsSync(path.join(ROOT, existing))) missing.push(place);
		}
		// File names in the description: inside the row's folder (or anywhere below it).
		const folders = places.filter((place) => place.endsWith('/') && !/[<*]/.test(place));
		for (const match of what.matchAll(/`([\w./-]+\.(?:ts|js))`/g)) {
			const name = match[1];
			if (name.includes('/')) {
				if (!fs.existsSync(path.join(ROOT, name))) missing.push(name);
				continue;
			}
			const found = folders.some((folder) =>
				filesBelow(folder).some((file) => path.basename(file) === name),
			);
			if (folders.length > 0 && !found) missing.push(name);
		}
		expect(missing).toEqual([]);
	});
});
