/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	// The unit tests run first, on the sources, with their own config (jest.unit.config.js).
	testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
	setupFiles: ['<rootDir>/test/setup-env.js'],
	testTimeout: 60000,
	// n8n-core leaves process-wide handles (loggers, agents) open after a suite.
	forceExit: true,
};
