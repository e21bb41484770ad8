'use strict';
/**
 * What the tests and benchmarks take from Node itself: its modules (files, processes, servers),
 * its globals (timers, `process`), and the package's own folder. `n8n-node lint` governs every
 * TypeScript file of the repository with the rules n8n Cloud applies to node code, and those forbid
 * Node's built-ins and globals; tests and benchmarks need them and never ship, so they import them
 * from this one JavaScript module (typed by host.d.ts) instead. Node code never imports it.
 */
const childProcess = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const timers = require('node:timers');

/** The folder of our package.json, found upwards (this file also runs compiled, for benchmarks). */
function findPackageRoot(from) {
	for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
		const file = path.join(dir, 'package.json');
		if (
			fs.existsSync(file) &&
			JSON.parse(fs.readFileSync(file, 'utf8')).name === 'n8n-nodes-webscrape-ai'
		)
			return dir;
	}
	throw new Error(`package root not found above ${from}`);
}

module.exports = {
	childProcess,
	fs,
	http,
	os,
	path,
	process,
	setTimeout: timers.setTimeout,
	setInterval: timers.setInterval,
	clearInterval: timers.clearInterval,
	delay: (ms) => new Promise((resolve) => timers.setTimeout(resolve, ms)),
	print: (...args) => console.log(...args),
	printError: (...args) => console.error(...args),
	/** A full garbage collection when Node runs with --expose-gc; nothing otherwise. */
	collectGarbage: () => global.gc?.(),
	PACKAGE_ROOT: findPackageRoot(__dirname),
	/** A CommonJS module by id or path, at run time: built files (as n8n loads them), untyped packages. */
	requireModule: (id) => require(id),
};
