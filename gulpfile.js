const path = require('path');
const { task, src, dest } = require('gulp');

task('build:icons', copyIcons);

// tsc compiles only TypeScript; the editor needs the SVG icons beside the compiled nodes, and n8n
// serves each node's output schemas (__schema__/v<version>/<resource>/<operation>.json) from there.
function copyIcons() {
	const schemaSource = path.resolve('nodes', '**', '__schema__', '**', '*.json');
	src(schemaSource, { encoding: false }).pipe(dest(path.resolve('dist', 'nodes')));
	const nodeSource = path.resolve('nodes', '**', '*.{png,svg}');
	const nodeDestination = path.resolve('dist', 'nodes');
	src(nodeSource, { encoding: false }).pipe(dest(nodeDestination));

	const credSource = path.resolve('credentials', '**', '*.{png,svg}');
	const credDestination = path.resolve('dist', 'credentials');
	return src(credSource, { encoding: false }).pipe(dest(credDestination));
}
