/**
 * Unit tests of the pure modules, on the TypeScript sources (no build): test/unit mirrors
 * nodes/WebScrapeAi's folders, and test/unit/trigger the trigger's. `npm run test:unit`; `npm test`
 * runs them first.
 */
/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test/unit'],
	testMatch: ['**/*.test.ts'],
	// The lock's and the record's tests mostly wait (pauses between checks and tries): four files at a
	// time take 16 s instead of 27 s on 2 cores.
	maxWorkers: 4,
	// Transpiled only (isolatedModules in tsconfig.unit.json): `tsc` type-checks the same files.
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.unit.json' }] },
};
