import type { INodeTypes } from 'n8n-workflow';

import { loadNodeTypes, loadPackage } from './harness/engine';

/**
 * Jest only (it uses jest's module registry), so it lives outside test/harness/, which the benchmarks
 * compile without jest.
 *
 * The package as a second n8n process has it: the built node classes loaded again in a module
 * registry of their own, so module state (the per-process serialisation of processed_data calls, the
 * dedupe memory) is not shared with the first load. n8n-core and the processed_data table are.
 */
export async function loadPackageAsAnotherProcess(): Promise<INodeTypes> {
	await loadPackage();
	let nodeTypes: INodeTypes | undefined;
	await jest.isolateModulesAsync(async () => {
		nodeTypes = await loadNodeTypes();
	});
	return nodeTypes!;
}
