/**
 * The plan's limits: the per-minute pacer's decisions, read off its turns (a deadline in the past
 * asks without waiting), and this batch's share of the plan's concurrency cap.
 */
import { MinutePacer, PlanSlots } from '../../../nodes/WebScrapeAi/transport/planLimits';
import { throttleBackoffMs } from '../../../nodes/WebScrapeAi/transport/retryPolicy';

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

describe('MinutePacer on a set clock', () => {
	const T = 1_000_000;
	let clock: jest.SpyInstance<number, []>;
	beforeEach(() => {
		clock = jest.spyOn(Date, 'now').mockReturnValue(T);
	});
	afterEach(() => clock.mockRestore());

	test('the window counts from when a request left, not from its turn (a record written in between)', async () => {
		const pacer = new MinutePacer();
		const first = await ask(pacer);
		// Its record took 3 s to write: it reached webscrape.ai 3 s after its turn.
		clock.mockReturnValue(T + 3000);
		expect(pacer.sending(first.sentAt)).toBe(T + 3000);
		pacer.settled(true);
		clock.mockReturnValue(T + 4000);
		const second = await ask(pacer);
		pacer.refused(pacer.sending(second.sentAt), 1, undefined);
		// 60 s and the 1 s margin from when the first left.
		expect((await ask(pacer)).nextAt).toBe(T + 64_000);
	});

	test.each([
		[1, 1400, 2600],
		[4, 1400, 2600],
		[13, 1400, 2600],
	])(
		'%i requests sent together, refused together, then a refused probe: it backs off %i-%i ms (one refusal before it, whatever their number)',
		async (together, low, high) => {
			const pacer = new MinutePacer();
			const sent = [];
			for (let index = 0; index < 10 + together; index++) sent.push(await ask(pacer));
			for (let index = 0; index < 10; index++) pacer.settled(true);
			clock.mockReturnValue(T + 500);
			for (const turn of sent.slice(10)) pacer.refused(turn.sentAt, 10, undefined);
			// The window has passed for the ten that counted: a probe goes, and is refused again.
			clock.mockReturnValue(T + 61_500);
			const probe = await ask(pacer);
			expect(probe.turn).toBe('go');
			pacer.refused(probe.sentAt, 10, undefined);
			const wait = ((await ask(pacer)).nextAt ?? T + 61_500) - (T + 61_500);
			expect(wait).toBeGreaterThanOrEqual(low);
			expect(wait).toBeLessThanOrEqual(high);
		},
	);
});

describe('PlanSlots', () => {
	const past = () => Date.now() - 1;
	const soon = (ms = 2000) => Date.now() + ms;

	test('starts at Concurrency: that many go, the next waits', async () => {
		const slots = new PlanSlots(3);
		for (let item = 0; item < 3; item++) expect(await slots.acquire(item, past(), [])).toBe('go');
		expect(await slots.acquire(3, past(), [])).toBe('timeout');
		slots.release();
		expect(await slots.acquire(3, past(), [])).toBe('go');
	});

	test('waiters are served lowest item first', async () => {
		const slots = new PlanSlots(1);
		await slots.acquire(0, past(), []);
		const order: number[] = [];
		const late = slots.acquire(5, soon(), []).then(() => order.push(5));
		const early = slots.acquire(2, soon(), []).then(() => order.push(2));
		slots.release();
		await early;
		slots.release();
		await late;
		expect(order).toEqual([2, 5]);
	});

	test("a refusal for the plan's cap lowers the share to what was in progress; the refused one waits for one to end", async () => {
		const slots = new PlanSlots(5);
		for (let item = 0; item < 3; item++) await slots.acquire(item, past(), []);
		// Item 2 refused: items 0 and 1 hold the plan's two other slots.
		const again = slots.refused({ maxConcurrent: 2 }, 2, soon(), []);
		expect(slots.limit).toBe(2);
		expect(slots.planCap).toBe(2);
		slots.release();
		expect(await again).toBe('go');
	});

	test('a refusal with nothing of ours in progress backs off (Retry-After), then goes', async () => {
		const slots = new PlanSlots(2);
		await slots.acquire(0, past(), []);
		expect(await slots.refused({ retryAfterMs: 10 }, 0, soon(), [])).toBe('go');
		expect(slots.limit).toBe(1);
	});

	test('a refusal whose wait passes the deadline times out', async () => {
		const slots = new PlanSlots(2);
		await slots.acquire(0, past(), []);
		expect(await slots.refused({ retryAfterMs: 60_000 }, 0, soon(100), [])).toBe('timeout');
	});

	test('each `limit` successes in a row earn one slot back, up to Concurrency', () => {
		const slots = new PlanSlots(4);
		slots.limit = 2;
		const limits: number[] = [];
		for (let success = 0; success < 10; success++) {
			slots.accepted();
			limits.push(slots.limit);
		}
		expect(limits).toEqual([2, 3, 3, 3, 4, 4, 4, 4, 4, 4]);
	});

	test('an aborted signal ends the wait', async () => {
		const slots = new PlanSlots(1);
		await slots.acquire(0, past(), []);
		const stop = new AbortController();
		const waiting = slots.acquire(1, soon(), [stop.signal]);
		stop.abort();
		expect(await waiting).toBe('aborted');
	});
});
