'use strict';
// `npm run sim`: the simulator on its own, for trying the nodes by hand.
const { Simulator, TEST_KEY } = require('./index');

const port = Number(process.env.SIM_PORT ?? 0);
const simulator = new Simulator({ timeScale: Number(process.env.SIM_TIME_SCALE ?? 1) });
simulator.addRecipe('demoFailing1', {
	outcome: 'failed',
	durationMs: 1500,
	error: 'target page did not load within timeout',
});
simulator.addRecipe('demoSlow1', { pages: 2, itemsPerPage: 5, durationMs: 20000 });

simulator.start(port).then((baseUrl) => {
	console.log(`webscrape.ai simulator listening`);
	console.log(`  Base URL: ${baseUrl}`);
	console.log(`  API key:  ${TEST_KEY}`);
	console.log(`  Recipes:  ${[...simulator.recipes.keys()].join(', ')}`);
	console.log('Ctrl-C stops it.');
});
const stop = () => simulator.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
