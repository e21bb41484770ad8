/** The per-minute pacer's decisions, read off its turns (a deadline in the past asks without waiting). */
import { MinutePacer, throttleBackoffMs } from '../../../nodes/WebScrapeAi/transport/throttle';

const now = () => Date.now();
const ask = async (pacer: MinutePacer) => await pacer.acquire(now() - 1, []);

test.each([
	[1, 60_000, 700, 1300],
	[2, 60_000, 1400, 2600],
	[4, 60_000, 5600, 10400],
	[10, 60_000, 42000, 78000],
	[10, 4000, 2800, 5200],
])('throttleBackoffMs(%i, cap %i) is within %i-%i ms', (attempt, cap, low, high) => {
	for (let sample = 0; sample < 100; sample++) {
		const ms = throttleBackoffMs(attempt, cap);
		expect(ms).toBeGreaterThanOrEqual(low);
		expect(ms).toBeLessThanOrEqual(high);
	}
});

describe('MinutePacer', () => {
	test('before any refusal nothing is paced: every request goes at once', async () => {
		const pacer = new MinutePacer();
		for (let index = 0; index < 50; index++) expect((await ask(pacer)).turn).toBe('go');
	});

	test('a refusal naming the limit paces at that many per sliding minute, counted from our sends', async () => {
		const pacer = new MinutePacer();
		const sent = [await ask(pacer), await ask(pacer), await ask(pacer)];
		pacer.settled(true);
		pacer.settled(true);
		// The third was refused: it does not count toward the window.
		pacer.refused(sent[2].sentAt, 2, 0);
		expect(pacer.limit).toBe(2);
		const turn = await ask(pacer);
		expect(turn.turn).toBe('timeout');
		// The window frees 60 s (and a 1 s margin) after the first of the two that counted.
		expect(turn.nextAt).toBeGreaterThanOrEqual(sent[0].sentAt + 61_000);
	});

	test('Retry-After holds every request until it passes', async () => {
		const pacer = new MinutePacer();
		const first = await ask(pacer);
		pacer.refused(first.sentAt, undefined, 5000);
		const turn = await ask(pacer);
		expect(turn.turn).toBe('timeout');
		expect(turn.nextAt! - now()).toBeGreaterThan(4000);
	});

	test('after a refusal one request at a time probes until one gets through', async () => {
		const pacer = new MinutePacer();
		const first = await ask(pacer);
		pacer.refused(first.sentAt, 10, 0);
		const probe = await pacer.acquire(now() + 1000, []);
		expect(probe.turn).toBe('go');
		expect((await ask(pacer)).nextAt).toBe(Infinity);
		pacer.settled(true);
		expect((await ask(pacer)).turn).toBe('go');
	});
});
