/** The batch's account of billed requests: what a stopping batch's error names, and how. */
import type { INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { BilledRequests } from '../../../nodes/WebScrapeAi/batch/billedRequests';

const node = { name: 'WebScrape AI', type: 'webScrapeAi', typeVersion: 1 } as INode;
const failed = (message: string, description?: string) =>
	new NodeOperationError(node, message, { description });
/** An error the transport marks as "outcome unknown" is one it made; a refusal is any other. */
const refusal = failed('webscrape.ai rejected the request');

test('a stopped Recipe → Run batch lists every other request by item, in order, with its run', () => {
	const account = new BilledRequests('run');
	account.leaving(3);
	account.answered(3, 'runC');
	account.leaving(1);
	account.answered(1, 'runA');
	account.sentEarlier(4);
	account.leaving(2);
	account.failed(2, refusal); // answered "nothing done": not listed
	account.leaving(0);
	const error = account.stopped(failed('Run "runX" failed [item 5]'), 5);
	expect(error.description).toBe(
		'This execution also sent 4 other requests that webscrape.ai may bill: may have started a run, its answer lost (item 0), started run runA (item 1), started run runC (item 3), sent by an earlier attempt of this execution (item 4). Fetch them with Run → Get (or find them on the webscrape.ai dashboard) instead of running these items again, or turn on "Continue (using error output)" so one failing item does not stop the others.',
	);
});

test('a stopped page batch says the billed results are lost and which items not to run again', () => {
	const account = new BilledRequests('page');
	account.leaving(0);
	account.answered(0);
	const error = account.stopped(failed('Not enough webscrape.ai credits', 'Top up.'), 1);
	expect(error.description).toBe(
		'Top up. This execution also sent 1 other request that webscrape.ai may bill: billed, its result not shown (item 0). Their results are lost with this error, and running these items again pays for them again: run only the other items, or turn on "Continue (using error output)" so one failing item does not stop the others.',
	);
});

test('nothing else sent: the error is left as it was', () => {
	const account = new BilledRequests('run');
	account.leaving(0);
	account.failed(0, refusal);
	expect(account.stopped(failed('Recipe "x" was not found'), 0).description).toBeUndefined();
});

test.each([
	[
		'names a started run its error does not name',
		'Could not write the file',
		'Its run runA was started',
	],
	['leaves an error that names its run as it was', 'Run "runA" failed', undefined],
])("an item's own error %s", (_what, message, note) => {
	const account = new BilledRequests('run');
	account.answered(0, 'runA');
	const description = account.explain(failed(message), 0).description;
	if (note) expect(description).toContain(note);
	else expect(description).toBeUndefined();
});

test("a page item's own error after its request was billed says so, whatever else it says", () => {
	const account = new BilledRequests('page');
	account.answered(0);
	const error = account.explain(
		failed('Could not read the answer', 'Nothing was billed twice.'),
		0,
	);
	expect(error.description).toBe(
		'Nothing was billed twice. webscrape.ai had processed and billed the request: running this item again pays for it again.',
	);
	// An item never answered is left as it was.
	expect(account.explain(failed('Refused'), 1).description).toBeUndefined();
});

test('a stopped batch names a run whose ID never came back, and never lists the failed item among the others', () => {
	const account = new BilledRequests('run');
	account.answered(1);
	account.answered(5, 'runX');
	const error = account.stopped(failed('Could not write the file [item 5]'), 5);
	expect(error.description).toBe(
		'Its run runX was started and goes on at webscrape.ai: fetch it with Run → Get instead of running this item again. This execution also sent 1 other request that webscrape.ai may bill: started a run (item 1). Fetch them with Run → Get (or find them on the webscrape.ai dashboard) instead of running these items again, or turn on "Continue (using error output)" so one failing item does not stop the others.',
	);
});

test.each(['fine', 'here'])(
	'a run ID that only the words around a missing description contain (%s) is still named',
	(runId) => {
		const account = new BilledRequests('run');
		account.answered(0, runId);
		expect(account.explain(failed('Could not write the file'), 0).description).toBe(
			`Its run ${runId} was started and goes on at webscrape.ai: fetch it with Run → Get instead of running this item again.`,
		);
	},
);

test('an error that names its run keeps its description as it was', () => {
	const account = new BilledRequests('run');
	account.answered(0, 'runA');
	const error = account.explain(failed('Run "runA" failed', 'It timed out.'), 0);
	expect(error.description).toBe('It timed out.');
});

test('a request refused before it left is not in the account; one an earlier attempt sent stays', () => {
	const account = new BilledRequests('page');
	account.failed(0, refusal);
	account.sentEarlier(1);
	account.failed(1, refusal);
	const error = account.stopped(failed('Refused [item 2]'), 2);
	expect(error.description).toBe(
		'This execution also sent 1 other request that webscrape.ai may bill: sent by an earlier attempt of this execution (item 1). Their results are lost with this error, and running these items again pays for them again: run only the other items, or turn on "Continue (using error output)" so one failing item does not stop the others.',
	);
});
