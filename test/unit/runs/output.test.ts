/**
 * runs/output.ts: which ended runs become one file (Output "One File"): never for a tool, whose
 * model reads rows, whatever its Row Limit.
 */
import type { INode } from 'n8n-workflow';

import { parseRunSettings, rowFileFor } from '../../../nodes/WebScrapeAi/runs';

const node = { id: 'n', name: 'WebScrape AI', type: 'x.webScrapeAi' } as INode;
const settings = (asTool: boolean, output: string, toolRowLimit?: number) =>
	parseRunSettings(node, 0, asTool, {
		waitForCompletion: true,
		output,
		fileFormat: 'jsonl',
		binaryPropertyName: 'data',
		options: toolRowLimit === undefined ? {} : { toolRowLimit },
	});

test.each([
	['a workflow, Output One File', false, 'file', undefined, true],
	['a workflow, Output Extracted Items', false, 'items', undefined, false],
	['a tool, Output One File, default Row Limit', true, 'file', undefined, false],
	['a tool, Output One File, Row Limit 0 (every row)', true, 'file', 0, false],
])('%s', (_what, asTool, output, toolRowLimit, file) => {
	expect(rowFileFor(settings(asTool, output, toolRowLimit)) !== undefined).toBe(file);
});
