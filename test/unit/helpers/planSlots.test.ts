/** This batch's share of the plan's concurrency cap. */
import { PlanSlots } from '../../../nodes/WebScrapeAi/helpers/planSlots';

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
