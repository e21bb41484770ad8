'use strict';
/**
 * `npm run test:mutation` is `--run` here: Stryker when an input changed (else the committed
 * result), then the report. The report reads Stryker's result (.cache/mutation/mutation.json) and
 * the equivalent mutants listed beside its config (test/mutation/equivalent-mutants.json), prints
 * the table per folder (mutants, killed, survived, equivalent, score) and every mutant that
 * survived without being listed, and exits 1 when the score is under THRESHOLD.
 *
 * A listed mutant is matched by file, mutator, the code it changes and its replacement, not by
 * line, so it stays listed when code above it moves. `--markdown` prints the table for docs.
 */
const { createHash } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const REPORT = path.join(REPO, '.cache/mutation/mutation.json');
const EQUIVALENT = path.join(REPO, 'test/mutation/equivalent-mutants.json');
const INPUTS = path.join(REPO, 'test/mutation/inputs.json');
const CONFIG = 'test/mutation/stryker.config.json';
const THRESHOLD = 90;
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** The source a mutant replaces, from its 1-based line and 0-based column location. */
function originalOf(source, location) {
	const lines = source.split('\n');
	const { start, end } = location;
	if (start.line === end.line) return lines[start.line - 1].slice(start.column - 1, end.column - 1);
	const text = [lines[start.line - 1].slice(start.column - 1)];
	for (let line = start.line; line < end.line - 1; line++) text.push(lines[line]);
	text.push(lines[end.line - 1].slice(0, end.column - 1));
	return text.join('\n');
}

function keyOf(file, mutator, original, replacement) {
	return JSON.stringify([
		file,
		mutator,
		original.replace(/\s+/g, ' '),
		replacement.replace(/\s+/g, ' '),
	]);
}

/** Folder under nodes/WebScrapeAi/ ("transport/errors.ts" for transport's files). */
function folderOf(file) {
	const relative = file.replace(/^nodes\/WebScrapeAi\//, '');
	const [folder] = relative.split('/');
	return folder;
}

function score(row) {
	const counted = row.mutants - row.equivalent;
	return counted === 0 ? 100 : (100 * row.killed) / counted;
}

const INCREMENTAL = path.join(REPO, 'test/mutation/stryker-incremental.json');

/**
 * Before Stryker runs (`--run`): Stryker's incremental mode cannot
 * tell which tests cover a static mutant (one in a module-level constant), so it would reuse an old
 * "survived" even after a new test kills it. Such results are dropped from the incremental file so
 * Stryker tests those mutants again; listed equivalents are kept (they would survive again).
 */
function forgetStaticSurvivors() {
	if (!fs.existsSync(INCREMENTAL)) return;
	const incremental = JSON.parse(fs.readFileSync(INCREMENTAL, 'utf8'));
	const listed = new Set(
		JSON.parse(fs.readFileSync(EQUIVALENT, 'utf8')).mutants.map((entry) =>
			keyOf(entry.file, entry.mutator, entry.original, entry.replacement),
		),
	);
	let dropped = 0;
	for (const [file, entry] of Object.entries(incremental.files)) {
		const source = entry.source;
		entry.mutants = entry.mutants.filter((mutant) => {
			if (!mutant.static || DETECTED.has(mutant.status)) return true;
			const original = originalOf(source, mutant.location);
			if (listed.has(keyOf(file, mutant.mutatorName, original, mutant.replacement ?? '')))
				return true;
			dropped++;
			return false;
		});
	}
	if (dropped > 0) fs.writeFileSync(INCREMENTAL, `${JSON.stringify(incremental, null, 2)}\n`);
}

/** Every file a mutation run depends on: the mutated sources, the unit tests and their harness. */
function inputFiles() {
	const below = (dir) =>
		fs.existsSync(path.join(REPO, dir))
			? fs
					.readdirSync(path.join(REPO, dir), { withFileTypes: true })
					.flatMap((entry) =>
						entry.isDirectory()
							? below(`${dir}/${entry.name}`)
							: /\.(ts|js)$/.test(entry.name)
								? [`${dir}/${entry.name}`]
								: [],
					)
			: [];
	const sources = ['exactlyOnce', 'batch', 'budget', 'tool'].flatMap((folder) =>
		below(`nodes/WebScrapeAi/${folder}`),
	);
	const transport = ['planLimits', 'retryPolicy', 'errors'].map(
		(name) => `nodes/WebScrapeAi/transport/${name}.ts`,
	);
	return [
		...sources,
		...transport,
		...below('test/unit'),
		...below('test/harness'),
		CONFIG,
		'jest.unit.config.js',
	].sort();
}

function fingerprint() {
	return Object.fromEntries(
		inputFiles().map((file) => [
			file,
			createHash('sha256')
				.update(fs.readFileSync(path.join(REPO, file)))
				.digest('hex'),
		]),
	);
}

/**
 * `--run` (what `npm run test:mutation` runs): when no input changed since the committed run
 * (test/mutation/inputs.json), its results in the incremental file are the answer and Stryker is not
 * started (its dry run alone takes a minute of CPU beside CI's suites); otherwise Stryker runs,
 * incrementally, and the fingerprint is written for the next commit.
 */
function run() {
	const now = fingerprint();
	const before = fs.existsSync(INPUTS) ? JSON.parse(fs.readFileSync(INPUTS, 'utf8')) : {};
	const same = JSON.stringify(before) === JSON.stringify(now) && fs.existsSync(INCREMENTAL);
	if (same) {
		console.log('No mutated source or unit test changed since the committed run: its results.');
		return INCREMENTAL;
	}
	forgetStaticSurvivors();
	execFileSync('npx', ['stryker', 'run', CONFIG], { cwd: REPO, stdio: 'inherit' });
	fs.writeFileSync(INPUTS, `${JSON.stringify(now, null, '\t')}\n`);
	return REPORT;
}

function main() {
	const markdown = process.argv.includes('--markdown');
	const reportFile = process.argv.includes('--run') ? run() : REPORT;
	report(reportFile, markdown);
}

function report(reportFile, markdown) {
	if (!fs.existsSync(reportFile)) {
		console.error(
			`No mutation report at ${path.relative(REPO, REPORT)}: run \`npm run test:mutation\`.`,
		);
		process.exit(1);
	}
	const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
	const listed = JSON.parse(fs.readFileSync(EQUIVALENT, 'utf8')).mutants;
	const equivalentKeys = new Map(
		listed.map((entry) => [
			keyOf(entry.file, entry.mutator, entry.original, entry.replacement),
			entry,
		]),
	);
	const used = new Set();
	const rows = new Map();
	const survivors = [];
	for (const [file, { source, mutants }] of Object.entries(report.files)) {
		const relative = path.relative(REPO, path.resolve(REPO, file)).split(path.sep).join('/');
		const folder = folderOf(relative);
		const row = rows.get(folder) ?? { mutants: 0, killed: 0, survived: 0, equivalent: 0 };
		rows.set(folder, row);
		for (const mutant of mutants) {
			if (!DETECTED.has(mutant.status) && !UNDETECTED.has(mutant.status)) continue;
			row.mutants++;
			if (DETECTED.has(mutant.status)) {
				row.killed++;
				continue;
			}
			const original = originalOf(source, mutant.location);
			const key = keyOf(relative, mutant.mutatorName, original, mutant.replacement ?? '');
			if (equivalentKeys.has(key)) {
				row.equivalent++;
				used.add(key);
				continue;
			}
			row.survived++;
			survivors.push(
				`${relative}:${mutant.location.start.line} ${mutant.mutatorName} (${mutant.status}): ${original.replace(/\s+/g, ' ').slice(0, 80)} → ${String(
					mutant.replacement ?? '',
				)
					.replace(/\s+/g, ' ')
					.slice(0, 80)}`,
			);
		}
	}
	const total = { mutants: 0, killed: 0, survived: 0, equivalent: 0 };
	for (const row of rows.values()) for (const name of Object.keys(total)) total[name] += row[name];
	const table = [...[...rows.entries()].sort(([a], [b]) => a.localeCompare(b)), ['total', total]];
	const percent = (row) => `${score(row).toFixed(1)} %`;
	if (markdown) {
		console.log('| Folder | Mutants | Killed | Survived | Equivalent | Score |');
		console.log('|---|---:|---:|---:|---:|---:|');
		for (const [folder, row] of table)
			console.log(
				`| ${folder} | ${row.mutants} | ${row.killed} | ${row.survived} | ${row.equivalent} | ${percent(row)} |`,
			);
	} else {
		console.log(
			`${'folder'.padEnd(14)}${['mutants', 'killed', 'survived', 'equivalent', 'score'].map((h) => h.padStart(11)).join('')}`,
		);
		for (const [folder, row] of table)
			console.log(
				`${folder.padEnd(14)}${[row.mutants, row.killed, row.survived, row.equivalent, percent(row)].map((cell) => String(cell).padStart(11)).join('')}`,
			);
	}
	const stale = listed.filter(
		(entry) => !used.has(keyOf(entry.file, entry.mutator, entry.original, entry.replacement)),
	);
	if (stale.length > 0) {
		console.log(
			`\n${stale.length} listed equivalent mutant(s) no longer survive as listed (killed, or the code changed): take them out of ${path.relative(REPO, EQUIVALENT)}:`,
		);
		for (const entry of stale)
			console.log(`  ${entry.file} ${entry.mutator}: ${entry.original} → ${entry.replacement}`);
	}
	if (survivors.length > 0 && !markdown) {
		console.log(
			`\n${survivors.length} mutant(s) survived: kill each with a test, or list it as equivalent (with why) in ${path.relative(REPO, EQUIVALENT)}:`,
		);
		for (const line of survivors) console.log(`  ${line}`);
	}
	const final = score(total);
	if (final < THRESHOLD) {
		console.error(`\nMutation score ${final.toFixed(1)} % is under ${THRESHOLD} %.`);
		process.exit(1);
	}
	console.log(`\nMutation score ${final.toFixed(1)} % (at least ${THRESHOLD} %).`);
}

main();
