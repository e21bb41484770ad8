/**
 * transport/pause.ts against stand-ins of n8n-workflow's sleep as each release has it: n8n 1.70 to
 * 1.100 (`sleep(ms)` only, no signal: the fallback), 1.101 to 2.11 (`sleepWithAbort(ms, signal)`),
 * 2.41 (`sleep(ms, signal?)`). A cancelled execution's wait ends within a slice (1 s) on the first,
 * at once on the others.
 */
import { clearTimeout, PACKAGE_ROOT, path, requireModule, setTimeout } from '../../harness/host';

type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

const plainSleep: Sleep = async (ms) => await new Promise((resolve) => setTimeout(resolve, ms));
const abortableSleep: Sleep = async (ms, signal) =>
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(resolve, ms);
		signal?.addEventListener('abort', () => {
			clearTimeout(timer);
			reject(new Error('aborted'));
		});
	});

/** Each release's sleep, and when a cancel 50 ms into a wait ends it: [at least, before] ms. */
const RELEASES: Array<[string, Record<string, Sleep | undefined>, [number, number]]> = [
	[
		'n8n 1.70–1.100: sleep(ms) ignores the signal (fallback: at the end of its 1 s slice)',
		{ sleep: plainSleep },
		[900, 1500],
	],
	[
		'n8n 1.101–2.11: sleepWithAbort(ms, signal)',
		{ sleep: plainSleep, sleepWithAbort: abortableSleep },
		[45, 150],
	],
	['n8n 2.41: sleep(ms, signal)', { sleep: abortableSleep }, [45, 150]],
];

/** pause() from the source, loaded against `workflow` in place of n8n-workflow. */
function pauseWith(workflow: Record<string, Sleep | undefined>) {
	let loaded: typeof import('../../../nodes/WebScrapeAi/transport/pause');
	jest.isolateModules(() => {
		jest.doMock('n8n-workflow', () => workflow);
		loaded = requireModule(path.join(PACKAGE_ROOT, 'nodes/WebScrapeAi/transport/pause'));
	});
	jest.dontMock('n8n-workflow');
	return loaded!.pause;
}

describe.each(RELEASES)('%s', (_release, workflow, [atLeastMs, withinMs]) => {
	const pause = pauseWith(workflow);

	test(`a cancel ends a 30 s wait after ${atLeastMs} to ${withinMs} ms, without throwing`, async () => {
		const cancel = new AbortController();
		const started = Date.now();
		setTimeout(() => cancel.abort(), 50);
		await expect(pause(30_000, cancel.signal)).resolves.toBeUndefined();
		const took = Date.now() - started;
		expect(took).toBeGreaterThanOrEqual(atLeastMs);
		expect(took).toBeLessThan(withinMs);
	});

	test('a wait nobody cancels lasts its time', async () => {
		const started = Date.now();
		await pause(120, new AbortController().signal);
		expect(Date.now() - started).toBeGreaterThanOrEqual(115);
	});

	test('an already aborted signal returns at once', async () => {
		const cancel = new AbortController();
		cancel.abort();
		const started = Date.now();
		await pause(30_000, cancel.signal);
		expect(Date.now() - started).toBeLessThan(20);
	});
});
