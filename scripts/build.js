'use strict';
/**
 * `npm run build`: compiles nodes/ and credentials/ into dist/ (emptied first, so no stale file
 * ships) and copies their icons. Skipped when nothing the build reads has changed since the last
 * one and dist/ holds every file package.json's `n8n` section names: the checks, suites and
 * benchmarks that each begin with a build then reuse it, and none rewrites dist/ under another
 * that is reading it (CI runs the real-n8n suites side by side). `npm run build -- --force`
 * always builds.
 */
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const STAMP = path.join(ROOT, '.cache', 'build-inputs.sha256');
const INPUT_DIRS = ['nodes', 'credentials'];
const INPUT_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'gulpfile.js'];

function filesUnder(dir) {
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir, { withFileTypes: true })
		.flatMap((entry) =>
			entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
		);
}

/** One hash of every input's path and content. */
function inputsHash() {
	const files = [
		...INPUT_DIRS.flatMap((dir) => filesUnder(path.join(ROOT, dir))),
		...INPUT_FILES.map((file) => path.join(ROOT, file)),
	].sort();
	const hash = crypto.createHash('sha256');
	for (const file of files) {
		hash.update(path.relative(ROOT, file)).update('\0').update(fs.readFileSync(file)).update('\0');
	}
	return hash.digest('hex');
}

function distComplete() {
	const { n8n } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
	return [...n8n.nodes, ...n8n.credentials].every((file) => fs.existsSync(path.join(ROOT, file)));
}

const hash = inputsHash();
const force = process.argv.includes('--force');
if (!force && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8') === hash && distComplete()) {
	console.log('dist/ is up to date with nodes/, credentials/ and the build settings: not rebuilt');
	process.exit(0);
}

fs.rmSync(STAMP, { force: true });
fs.rmSync(path.join(ROOT, 'dist'), { recursive: true, force: true });
// The two tools from node_modules, as their npm bins would run them.
const run = (bin, args) =>
	execFileSync(process.execPath, [path.join(ROOT, 'node_modules', bin), ...args], {
		cwd: ROOT,
		stdio: 'inherit',
	});
run('typescript/bin/tsc', ['-p', 'tsconfig.build.json']);
run('gulp/bin/gulp.js', ['build:icons']);
fs.mkdirSync(path.dirname(STAMP), { recursive: true });
fs.writeFileSync(STAMP, hash);
