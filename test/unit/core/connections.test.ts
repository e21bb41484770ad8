/**
 * core/connections.ts against stand-ins of n8n-workflow: n8n 1.85 on (NodeConnectionTypes) and
 * before it (no such export, where reading `.Main` failed the nodes' load).
 */
import { PACKAGE_ROOT, path, requireModule } from '../../harness/host';

function mainConnectionWith(workflow: object): unknown {
	let loaded: { MAIN_CONNECTION: unknown } | undefined;
	jest.isolateModules(() => {
		jest.doMock('n8n-workflow', () => workflow);
		loaded = requireModule(path.join(PACKAGE_ROOT, 'nodes/WebScrapeAi/core/connections'));
	});
	jest.dontMock('n8n-workflow');
	return loaded?.MAIN_CONNECTION;
}

test.each([
	// A value of the stand-in's own: shows the module read the stand-in, not the installed package.
	[
		'n8n 1.85 on: NodeConnectionTypes.Main',
		{ NodeConnectionTypes: { Main: 'main (stand-in)' } },
		'main (stand-in)',
	],
	['n8n 1.70 to 1.82: no NodeConnectionTypes', {}, 'main'],
])('%s', (_release, workflow, expected) => {
	expect(mainConnectionWith(workflow)).toBe(expected);
});
