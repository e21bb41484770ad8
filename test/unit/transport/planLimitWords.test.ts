/**
 * transport/planLimits.ts on a set clock: the per-minute pacer's state after each kind of answer
 * (probes, refusals in a row, the window), an item's slot of the plan held and given back around its
 * work, and the words of both timeouts.
 */
import type { INode } from 'n8n-workflow';

import {
	MinutePacer,
	pacerOf,
	perMinuteTimeout,
	PlanSlots,
	withPlanSlot,
} from '../../../nodes/WebScrapeAi/transport/planLimits';
import { actionContextOn } from '../../harness/actionContext';
import { ProcessedDataTable } from '../../harness/processedData';
import { delay } from '../../harness/host';

const T = 1_000_000;
const node = { name: 'WebScrape AI', type: 'webScrapeAi', typeVersion: 1 } as INode;

describe('the per-minute pacer on a set clock', () => {
	let clock: jest.SpyInstance<number, []>;
	let random: jest.SpyInstance<number, []>;
	beforeEach(() => {
		clock = jest.spyOn(Date, 'now').mockReturnValue(T);
		// Backoffs without jitter: 1, 2, 4 s …
		random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
	});
	afterEach(() => {
		clock.mockRestore();
		random.mockRestore();
	});
	const at = (ms: number) => clock.mockReturnValue(T + ms);
	const ask = async (pacer: MinutePacer) => await pacer.acquire(Date.now() - 1, []);

	test('after the probe got through, the limit still holds: no request past it goes', async () => {
		const pacer = new MinutePacer();
		pacer.refused((await ask(pacer)).sentAt, 1, 0);
		expect((await ask(pacer)).turn).toBe('go');
		pacer.settled(true);
		expect(await ask(pacer)).toEqual({ turn: 'timeout', sentAt: 0, nextAt: T + 61_000 });
	});

	test('after a probe that failed in transit, the next request probes again, one at a time', async () => {
		const pacer = new MinutePacer();
		pacer.refused((await ask(pacer)).sentAt, 10, 0);
		expect((await ask(pacer)).turn).toBe('go');
		pacer.settled(false);
		expect((await ask(pacer)).turn).toBe('go');
		expect((await ask(pacer)).nextAt).toBe(Infinity);
	});

	test('after a probe got through, requests go together again', async () => {
		const pacer = new MinutePacer();
		pacer.refused((await ask(pacer)).sentAt, 10, 0);
		await ask(pacer);
		pacer.settled(true);
		expect((await ask(pacer)).turn).toBe('go');
		expect((await ask(pacer)).turn).toBe('go');
	});

	test('an earlier request answered while a probe is due does not end the probing', async () => {
		const pacer = new MinutePacer();
		const earlier = await ask(pacer);
		const refused = await ask(pacer);
		pacer.refused(refused.sentAt, 10, 0);
		pacer.settled(true);
		expect(earlier.turn).toBe('go');
		expect((await ask(pacer)).turn).toBe('go');
		expect((await ask(pacer)).nextAt).toBe(Infinity);
	});

	test('refusals in a row back off 1, 2, 4 s; one that got through starts again at 1 s; a failure in transit does not', async () => {
		const pacer = new MinutePacer();
		pacer.refused((await ask(pacer)).sentAt, undefined, undefined);
		expect((await ask(pacer)).nextAt).toBe(T + 1000);
		at(1000);
		pacer.refused((await ask(pacer)).sentAt, undefined, undefined);
		expect((await ask(pacer)).nextAt).toBe(T + 3000);
		at(3000);
		await ask(pacer);
		pacer.settled(false);
		pacer.refused((await ask(pacer)).sentAt, undefined, undefined);
		expect((await ask(pacer)).nextAt).toBe(T + 7000);
		at(7000);
		await ask(pacer);
		pacer.settled(true);
		pacer.refused((await ask(pacer)).sentAt, undefined, undefined);
		expect((await ask(pacer)).nextAt).toBe(T + 8000);
	});

	test('a request sent the moment pacing began counts as a refusal of its own', async () => {
		const pacer = new MinutePacer();
		at(-100);
		const before = await ask(pacer);
		at(0);
		const same = await ask(pacer);
		pacer.refused(before.sentAt, undefined, undefined);
		pacer.refused(same.sentAt, undefined, undefined);
		expect((await ask(pacer)).nextAt).toBe(T + 2000);
	});

	test("a refusal our own requests do not explain backs off, even when the plan's window would free sooner", async () => {
		const pacer = new MinutePacer();
		at(-59_500);
		const old = [await ask(pacer), await ask(pacer)];
		at(0);
		const refused = await ask(pacer);
		pacer.refused(old[0].sentAt, undefined, 0);
		pacer.refused(refused.sentAt, 3, undefined);
		// Two of three in the window: not explained by us. The window would free at T + 1,500.
		expect((await ask(pacer)).nextAt).toBe(T + 2000);
	});

	test('a refusal our own requests explain waits for the window only, even when a backoff would be longer', async () => {
		const pacer = new MinutePacer();
		at(-60_900);
		await ask(pacer);
		await ask(pacer);
		at(0);
		pacer.refused((await ask(pacer)).sentAt, 2, undefined);
		expect((await ask(pacer)).nextAt).toBe(T + 100);
	});

	test.each([
		['no figure', undefined],
		['zero', 0],
	])('a refusal with %s for the limit sets none', async (_what, limit) => {
		const pacer = new MinutePacer();
		pacer.refused((await ask(pacer)).sentAt, limit, 0);
		expect(pacer.limit).toBeUndefined();
		pacer.refused((await ask(pacer)).sentAt, 5, 0);
		pacer.refused((await ask(pacer)).sentAt, 8, 0);
		expect(pacer.limit).toBe(5);
	});

	test('a refused request leaves the window; one not known there changes nothing', async () => {
		const pacer = new MinutePacer();
		const first = await ask(pacer);
		pacer.refused(first.sentAt, 1, 0);
		pacer.refused(T - 5, 1, 0);
		expect((await ask(pacer)).turn).toBe('go');
		const paced = new MinutePacer();
		const a = await ask(paced);
		await ask(paced);
		paced.settled(true);
		paced.settled(true);
		paced.refused(a.sentAt, 1, 0);
		paced.refused(T - 5, 1, 0);
		// The second request still counts in the window: no turn until it leaves.
		expect((await ask(paced)).turn).toBe('timeout');
	});

	test('a send time the pacer does not know is left as it was', async () => {
		const pacer = new MinutePacer();
		const first = await ask(pacer);
		at(500);
		expect(pacer.sending(12_345)).toBe(12_345);
		expect(pacer.sending(first.sentAt)).toBe(T + 500);
	});

	test('requests in the same millisecond get send times one microsecond apart', async () => {
		const pacer = new MinutePacer();
		const sent = [await ask(pacer), await ask(pacer), await ask(pacer)];
		expect(sent.map((turn) => Math.round((turn.sentAt - T) * 1000))).toEqual([0, 1, 2]);
	});

	test('the window lets a request go exactly 61 s after the one it counts', async () => {
		const pacer = new MinutePacer();
		const first = await ask(pacer);
		pacer.refused((await ask(pacer)).sentAt, 1, 0);
		pacer.settled(true);
		at(60_999);
		expect((await ask(pacer)).turn).toBe('timeout');
		at(61_000);
		expect((await ask(pacer)).turn).toBe('go');
		expect(first.sentAt).toBe(T);
	});

	test('a wait whose deadline comes before the next free turn ends at once, saying when that turn is', async () => {
		const pacer = new MinutePacer();
		pacer.refused((await ask(pacer)).sentAt, undefined, 30_000);
		expect(await pacer.acquire(T + 29_999, [])).toEqual({
			turn: 'timeout',
			sentAt: 0,
			nextAt: T + 30_000,
		});
	});

	test('a wait whose signal is already aborted ends as aborted', async () => {
		const pacer = new MinutePacer();
		pacer.refused((await ask(pacer)).sentAt, undefined, 30_000);
		expect(await pacer.acquire(T + 60_000, [AbortSignal.abort()])).toEqual({
			turn: 'aborted',
			sentAt: 0,
		});
	});
});

test('a wait for the pacer ends when its turn comes', async () => {
	const pacer = new MinutePacer();
	const first = await pacer.acquire(Date.now(), []);
	pacer.refused(first.sentAt, undefined, 60);
	const began = Date.now();
	const turn = await pacer.acquire(Date.now() + 5_000, []);
	expect(turn.turn).toBe('go');
	expect(Date.now() - began).toBeGreaterThanOrEqual(50);
	expect(Date.now() - began).toBeLessThan(5_000);
});

test('a wait behind a probe ends when the probe is answered, not at once', async () => {
	const pacer = new MinutePacer();
	pacer.refused((await pacer.acquire(Date.now(), [])).sentAt, 10, 0);
	expect((await pacer.acquire(Date.now() + 1_000, [])).turn).toBe('go');
	const behind = pacer.acquire(Date.now() + 5_000, []);
	await delay(10);
	pacer.settled(true);
	expect((await behind).turn).toBe('go');
});

test("nothing of ours in flight when the plan's cap refuses: back off, or give up when the backoff passes the deadline", async () => {
	const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
	try {
		const slots = new PlanSlots(2);
		await slots.acquire(0, Date.now(), []);
		const began = Date.now();
		expect(await slots.refused({}, 0, Date.now() + 500, [])).toBe('timeout');
		expect(Date.now() - began).toBeLessThan(400);
	} finally {
		random.mockRestore();
	}
});

test('a wait webscrape.ai asked for is kept even while our own requests are in flight', async () => {
	const slots = new PlanSlots(3);
	await slots.acquire(0, Date.now(), []);
	await slots.acquire(1, Date.now(), []);
	void delay(20).then(() => slots.release());
	const began = Date.now();
	expect(await slots.refused({ retryAfterMs: 300 }, 1, Date.now() + 5_000, [])).toBe('go');
	expect(Date.now() - began).toBeGreaterThanOrEqual(280);
});

test('one pacer per execution context', () => {
	const one = actionContextOn(new ProcessedDataTable()).context;
	const other = actionContextOn(new ProcessedDataTable()).context;
	expect(pacerOf(one)).toBe(pacerOf(one));
	expect(pacerOf(one)).not.toBe(pacerOf(other));
});

describe("an item's slot of the plan", () => {
	const wait = (itemIndex: number, ms: number, more = {}) => ({
		itemIndex,
		deadline: Date.now() + ms,
		timeoutMs: 1_500,
		what: 'send the request',
		unit: 'requests in flight',
		...more,
	});

	test('held while its work runs, given back after it, also when it fails', async () => {
		const { context } = actionContextOn(new ProcessedDataTable());
		const slots = new PlanSlots(1);
		expect(await withPlanSlot(context, slots, wait(0, 100), async () => 'done')).toBe('done');
		await expect(
			withPlanSlot(context, slots, wait(1, 100), async () => {
				expect(await slots.acquire(9, Date.now() - 1, [])).toBe('timeout');
				throw new Error('failed');
			}),
		).rejects.toThrow('failed');
		expect(await slots.acquire(2, Date.now() - 1, [])).toBe('go');
	});

	test("no slot before the Timeout: the words say what could not start and the plan's limit", async () => {
		const { context } = actionContextOn(new ProcessedDataTable());
		const slots = new PlanSlots(1);
		await slots.acquire(0, Date.now(), []);
		const error = await withPlanSlot(context, slots, wait(2, 20), async () => 'never').catch(
			(thrown: Error & { description?: string; context?: { itemIndex?: number } }) => thrown,
		);
		expect(typeof error).toBe('object');
		const failure = error as Error & { description?: string; context?: { itemIndex?: number } };
		expect(failure.message).toMatch(
			/^Could not send the request within its Timeout \(1\.5 s\): your webscrape\.ai plan's limit of requests in flight was reached \(waited 0(\.\d)? s\) \[item 2\]$/,
		);
		expect(failure.context?.itemIndex).toBe(2);
		expect(failure.description).toBe(
			'Nothing was started for this item, so nothing was billed; what the other items started goes on. Raise the "Timeout" option, send fewer items at once, or upgrade the plan. Other workflows and schedules on the same plan share its limit.',
		);
	});

	test("after webscrape.ai named the plan's cap, the words give it", async () => {
		const { context } = actionContextOn(new ProcessedDataTable());
		const slots = new PlanSlots(2);
		await slots.acquire(0, Date.now(), []);
		const refused = withPlanSlot(
			context,
			slots,
			wait(1, 150, { what: 'start the run of recipe "r1"', unit: 'runs in progress' }),
			async (onBusy) => {
				await onBusy({ maxConcurrent: 1 });
				return 'never';
			},
		);
		await expect(refused).rejects.toThrow(
			/^Could not start the run of recipe "r1" within its Timeout \(1\.5 s\): your webscrape\.ai plan allows 1 runs in progress at once \(waited 0\.\d s\) \[item 1\]$/,
		);
		expect(slots.planCap).toBe(1);
		expect(await slots.acquire(3, Date.now(), [])).toBe('timeout');
		slots.release();
		expect(await slots.acquire(3, Date.now(), [])).toBe('go');
	});

	test('a refused item that gets its slot back holds it until its work ends; successes count', async () => {
		const { context } = actionContextOn(new ProcessedDataTable());
		const slots = new PlanSlots(2);
		await slots.acquire(0, Date.now(), []);
		let releaseOther!: () => void;
		const other = new Promise<void>((resolve) => (releaseOther = resolve)).then(() =>
			slots.release(),
		);
		const done = withPlanSlot(context, slots, wait(1, 2_000), async (onBusy, accepted) => {
			void delay(20).then(releaseOther);
			await onBusy({});
			expect(await slots.acquire(5, Date.now(), [])).toBe('timeout');
			accepted();
			return 'sent';
		});
		expect(await done).toBe('sent');
		await other;
		expect(await slots.acquire(6, Date.now(), [])).toBe('go');
		// Lowered to 1 by the refusal, raised again by one success (1 in a row at a share of 1).
		expect(slots.limit).toBe(2);
	});

	test('a batch stopped while waiting for a slot ends quietly, a cancelled execution in words', async () => {
		const harness = actionContextOn(new ProcessedDataTable());
		const slots = new PlanSlots(1);
		await slots.acquire(0, Date.now(), []);
		const stop = new AbortController();
		const stopped = withPlanSlot(
			harness.context,
			slots,
			wait(1, 5_000, { stop: stop.signal }),
			async () => 'x',
		);
		stop.abort();
		await expect(stopped).rejects.toThrow('stopped');
		const cancelled = withPlanSlot(harness.context, slots, wait(2, 5_000), async () => 'x');
		harness.cancel.abort();
		await expect(cancelled).rejects.toThrow('The execution was cancelled');
	});
});

describe('the per-minute timeout in words', () => {
	let clock: jest.SpyInstance<number, []>;
	beforeEach(() => (clock = jest.spyOn(Date, 'now').mockReturnValue(T)));
	afterEach(() => clock.mockRestore());

	test("a run: the plan's figure, how long it waited, when the next turn was, the refusal kept", () => {
		const pacer = new MinutePacer();
		pacer.limit = 30;
		const refusal = { status: 429, code: 'rate_limited', requestId: 'req_9', retries: 2 };
		const error = perMinuteTimeout(
			node,
			refusal,
			pacer,
			{ nextAt: T + 2_500 },
			T - 1_200,
			{ kind: 'dispatch', itemIndex: 4 },
			{ itemIndex: 4, secrets: [] },
		);
		expect(error.message).toBe(
			'Could not start the run within its Timeout: your webscrape.ai plan allows 30 requests per minute (waited 1.2 s; the next free turn was 2.5 s away) [item 4]',
		);
		expect(error.description).toBe(
			'Nothing was sent for this item, so nothing was billed; the other items went on. Raise the "Timeout" option, send fewer items per execution, or upgrade the plan. Request ID: req_9 (quote it to webscrape.ai support).',
		);
		expect(error.httpCode).toBe('429');
	});

	test.each([
		['no next turn known', undefined],
		['a probe out', Infinity],
		['a turn already due', T],
	])('a request, no figure, %s: what it says', (_what, nextAt) => {
		const error = perMinuteTimeout(
			node,
			undefined,
			new MinutePacer(),
			{ nextAt },
			T,
			{ kind: 'write' },
			{ secrets: [] },
		);
		expect(error.message).toBe(
			'Could not send the request within its Timeout: your webscrape.ai plan allows a limited number of requests per minute (waited 0 s)',
		);
		expect(error.httpCode).toBe('429');
		expect(error.errorResponse).toEqual({ status: 429, code: 'rate_limited' });
	});
});
