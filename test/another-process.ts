import type { INodeType, INodeTypes, IVersionedNodeType } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';
import { PackageDirectoryLoader } from 'n8n-core';

import { loadPackage, PACKAGE_NAME, PACKAGE_ROOT } from './harness/engine';

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
		const loader = new PackageDirectoryLoader(PACKAGE_ROOT);
		await loader.loadAll();
		const byType: Record<string, INodeType | IVersionedNodeType> = {};
		for (const [name, data] of Object.entries(loader.nodeTypes)) {
			byType[`${PACKAGE_NAME}.${name}`] = data.type;
		}
		nodeTypes = {
			getByName: (type) => byType[type],
			getByNameAndVersion: (type, version) =>
				NodeHelpers.getVersionedNodeType(byType[type], version),
			getKnownTypes: () => ({}),
		};
	});
	return nodeTypes!;
}
