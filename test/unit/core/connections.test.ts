/**
 * core/connections.ts against stand-ins of n8n-workflow: n8n 1.85 on (NodeConnectionTypes) and
 * before it (no such export, where reading `.Main` failed the nodes' load).
 */
function mainConnectionWith(workflow: object): unknown {
	let loaded: { MAIN_CONNECTION: unknown } | undefined;
	jest.isolateModules(() => {
		jest.doMock('n8n-workflow', () => workflow);
		loaded = require('../../../nodes/WebScrapeAi/core/connections');
	});
	jest.dontMock('n8n-workflow');
	return loaded?.MAIN_CONNECTION;
}

test.each([
	[
		'n8n 1.85 on: NodeConnectionTypes.Main',
		{ NodeConnectionTypes: { Main: 'main', AiTool: 'ai_tool' } },
	],
	['n8n 1.70 to 1.82: no NodeConnectionTypes', {}],
])('%s → "main"', (_release, workflow) => {
	expect(mainConnectionWith(workflow)).toBe('main');
});
