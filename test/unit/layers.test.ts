/**
 * The house's arrows: every import between the folders of nodes/ points down the layers below, and
 * no file imports itself back through others (no circle). A folder added without a layer fails here,
 * so where it sits is decided, not drifted into.
 */
import { fs, PACKAGE_ROOT, path } from '../harness/host';

/** Each folder of nodes/WebScrapeAi (and the trigger), by layer: imports only point to lower ones. */
const LAYERS: Record<string, number> = {
	transport: 0,
	exactlyOnce: 1,
	core: 1,
	budget: 2,
	runs: 2,
	batch: 3,
	tool: 3,
	actions: 4,
	'.': 5,
	WebScrapeAiTrigger: 5,
};

const NODES = path.join(PACKAGE_ROOT, 'nodes');

function sources(dir: string): string[] {
	return fs
		.readdirSync(dir, { withFileTypes: true })
		.flatMap((entry) =>
			entry.isDirectory()
				? sources(path.join(dir, entry.name))
				: entry.name.endsWith('.ts')
					? [path.join(dir, entry.name)]
					: [],
		);
}

/** The folder a file belongs to: its top folder under WebScrapeAi/, '.', or the trigger's. */
function folderOf(file: string): string {
	const [node, top, ...rest] = path.relative(NODES, file).split(path.sep);
	if (node !== 'WebScrapeAi') return node;
	return rest.length > 0 ? top : '.';
}

/** Relative imports of `file`, resolved to files. */
function importsOf(file: string): string[] {
	const text = fs.readFileSync(file, 'utf8');
	return [...text.matchAll(/from '(\.[^']+)'/g)].map((match) => {
		const target = path.join(path.dirname(file), match[1]);
		return fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts');
	});
}

const files = [
	...sources(path.join(NODES, 'WebScrapeAi')),
	...sources(path.join(NODES, 'WebScrapeAiTrigger')),
];
const graph = new Map(files.map((file) => [file, importsOf(file)]));

test('every folder has a layer, and every import between folders points to a lower layer', () => {
	const unplaced = [...new Set(files.map(folderOf))].filter((folder) => !(folder in LAYERS));
	expect(unplaced).toEqual([]);
	const upward: string[] = [];
	for (const [file, targets] of graph)
		for (const target of targets) {
			const from = folderOf(file);
			const to = folderOf(target);
			if (from !== to && LAYERS[to] >= LAYERS[from])
				upward.push(`${path.relative(NODES, file)} → ${path.relative(NODES, target)}`);
		}
	expect(upward).toEqual([]);
});

test('no file reaches itself through its imports', () => {
	const state = new Map<string, 'open' | 'done'>();
	const circles: string[] = [];
	const visit = (file: string, trail: string[]) => {
		if (state.get(file) === 'done') return;
		if (state.get(file) === 'open') {
			circles.push(
				[...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(NODES, f)).join(' → '),
			);
			return;
		}
		state.set(file, 'open');
		for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
		state.set(file, 'done');
	};
	for (const file of files) visit(file, []);
	expect(circles).toEqual([]);
});
