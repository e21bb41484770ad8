'use strict';
/**
 * How real n8n is installed (e2e/n8n.js), without installing it: the environment its npm commands
 * run in drops what an npm script hands down (this repository's .npmrc sets ignore-scripts=true,
 * which left n8n without its database add-on), and an install counts as ready only with that add-on.
 * The install itself, run by `npm start -- --check` on a clean clone with
 * npm_config_ignore_scripts=true in its environment, is CI's first step after `npm install`.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const n8n = require('./n8n');

test("an install's npm runs with its own settings, not those npm hands a script", () => {
	const inherited = {
		PATH: '/usr/bin',
		HOME: '/root',
		npm_config_ignore_scripts: 'true',
		NPM_CONFIG_IGNORE_SCRIPTS: 'true',
		npm_config_omit_lockfile_registry_resolved: 'false',
		npm_package_name: 'n8n-nodes-webscrape-ai',
		npm_lifecycle_event: 'start',
		E2E_SQLITE3_FROM: '/somewhere',
	};
	assert.deepEqual(n8n.installEnv(inherited), {
		PATH: '/usr/bin',
		HOME: '/root',
		E2E_SQLITE3_FROM: '/somewhere',
	});
});

test('an install is ready only with its sqlite3 add-on; one without it is repaired, not skipped', () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsai-install-state-'));
	try {
		const put = (file) => {
			fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
			fs.writeFileSync(path.join(dir, file), '');
		};
		assert.equal(n8n.installState(dir), 'none');
		put('node_modules/n8n/bin/n8n');
		put('.installed');
		// What the broken first start left: n8n there and stamped, the add-on never built.
		assert.equal(n8n.installState(dir), 'no-sqlite3');
		put('node_modules/sqlite3/build/Release/node_sqlite3.node');
		assert.equal(n8n.installState(dir), 'ready');
		fs.rmSync(path.join(dir, '.installed'));
		assert.equal(n8n.installState(dir), 'none');
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
