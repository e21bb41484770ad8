/**
 * Unit tests of the pure modules, on the TypeScript sources (no build): test/unit mirrors
 * nodes/WebScrapeAi. `npm run test:unit`; `npm test` runs them first.
 */
/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test/unit'],
	testMatch: ['**/*.test.ts'],
	// Transpiled only: `tsc` (npm run build, lint) type-checks the same files.
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
};
