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
const asyncHooks = require('node:async_hooks');

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

/** Resolves after `ms` milliseconds. */
const delay = (ms) => new Promise((resolve) => timers.setTimeout(resolve, ms));

/** Whether the code running now is jest's own (its reporter refreshes its status on timers). */
function fromTestRunner() {
	const limit = Error.stackTraceLimit;
	Error.stackTraceLimit = 50;
	const stack = new Error().stack;
	Error.stackTraceLimit = limit;
	return /node_modules[\\/](@jest[\\/]|jest-)/.test(stack);
}

module.exports = {
	childProcess,
	fs,
	http,
	os,
	path,
	process,
	setTimeout: timers.setTimeout,
	clearTimeout: timers.clearTimeout,
	setInterval: timers.setInterval,
	clearInterval: timers.clearInterval,
	delay,
	print: (...args) => console.log(...args),
	printError: (...args) => console.error(...args),
	/**
	 * Counts the timers created from now on that have neither fired nor been cleared. Only this
	 * window's own timers count: timers the test runner already had pending may end at any moment
	 * on a busy machine, so a count of every active timer is not a measure of ours.
	 */
	timersFromNow: () => {
		const pending = new Set();
		const hook = asyncHooks
			.createHook({
				init: (id, type) => {
					if (type === 'Timeout' && !fromTestRunner()) pending.add(id);
				},
				destroy: (id) => pending.delete(id),
			})
			.enable();
		return {
			/** How many are pending, once Node has reported the timers that ended (destroy is queued). */
			pending: async () => {
				await delay(5);
				await new Promise((resolve) => timers.setImmediate(resolve));
				return pending.size;
			},
			stop: () => hook.disable(),
		};
	},
	/** A full garbage collection when Node runs with --expose-gc; nothing otherwise. */
	collectGarbage: () => global.gc?.(),
	PACKAGE_ROOT: findPackageRoot(__dirname),
	/** A CommonJS module by id or path, at run time: built files (as n8n loads them), untyped packages. */
	requireModule: (id) => require(id),
};
