import type { IExecuteFunctions, INode, NodeApiError } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ApiFailure, RequestSubject } from './errors';
import { toNodeApiError } from './errors';
import { pause } from './pause';
import type { RequestKind } from './retryPolicy';
import { throttleBackoffMs } from './retryPolicy';
import type { ApiContext } from './signals';
import { cancelSignalOf, seconds, throwIfStopped } from './signals';

// The plan's limits, all of them: the per-minute pace every credit-spending request of an execution
// shares (MinutePacer), this batch's share of the plan's concurrency cap (PlanSlots), and the words
// when an item cannot get through either before its Timeout. Imports only the transport's floor
// (signals, pauses, errors, the retry policy's backoff); the 429 answers' headlines are in errors.ts
// with the other answers.

const WINDOW_MS = 60_000;
/** The server stamps a request a little after we send it; pace with this much to spare. */
const WINDOW_MARGIN_MS = 1_000;

/** How a wait for the plan's throttles ended. */
export type Turn = 'go' | 'timeout' | 'aborted';

/**
 * Wakes every waiter of a throttle when its state changes. Waiters sleep with n8n's abortable
 * timer, so a state change, a cancelled execution and a stopped batch all end a wait at once.
 */
export class Wakeup {
	private controller = new AbortController();

	get signal(): AbortSignal {
		return this.controller.signal;
	}

	ring(): void {
		this.controller.abort();
		this.controller = new AbortController();
	}
}

/**
 * The plan's per-minute limit, shared by every credit-spending request of one execution. Until
 * webscrape.ai first answers 429 `rate_limit_per_min` nothing is paced (only the send times are
 * kept). From then on requests go out in arrival order, at most `limit` per sliding 60 s window
 * (counted from our own send times), after any Retry-After, and after a refusal one at a time
 * until one gets through — so a batch knocks once per refusal, not once per waiting item.
 */
export class MinutePacer {
	limit: number | undefined;
	private readonly sent: number[] = [];
	private blockedUntil = 0;
	private probing = false;
	private probeInFlight = false;
	private refusalsInARow = 0;
	/** When the first refusal came: requests sent before it went out together, unpaced. */
	private pacedSince: number | undefined;
	private queue: Promise<unknown> = Promise.resolve();
	private readonly wakeup = new Wakeup();

	/** Waits for this request's turn; on 'go' the send time is recorded and returned as `sentAt`. */
	async acquire(
		deadline: number,
		signals: AbortSignal[],
	): Promise<{ turn: Turn; sentAt: number; nextAt?: number }> {
		if (this.limit === undefined && !this.probing) {
			return { turn: 'go', sentAt: this.record(Date.now()) };
		}
		const turn = this.queue.then(async () => await this.waitForTurn(deadline, signals));
		this.queue = turn.catch(() => undefined);
		return await turn;
	}

	/** A request was answered without a per-minute refusal (`accepted`) or failed in transit. */
	settled(accepted: boolean): void {
		if (this.probing && this.probeInFlight) {
			this.probeInFlight = false;
			if (accepted) this.probing = false;
		}
		if (accepted) this.refusalsInARow = 0;
		this.prune(Date.now());
		this.wakeup.ring();
	}

	/**
	 * The request whose turn came at `sentAt` leaves now. What it did in between (the record written
	 * before a billed request, a database write that takes seconds on a busy n8n) must not shorten
	 * the window webscrape.ai counts from its arrival, so our count starts from now. Returns the new
	 * send time (the one `refused` takes).
	 */
	sending(sentAt: number): number {
		const index = this.sent.indexOf(sentAt);
		if (index < 0) return sentAt;
		this.sent.splice(index, 1);
		return this.record(Date.now());
	}

	/** webscrape.ai refused the request sent at `sentAt`: 429 `rate_limit_per_min`. */
	refused(sentAt: number, limitPerMin: number | undefined, retryAfterMs: number | undefined): void {
		const now = Date.now();
		// Requests that went out together before the first refusal are refused together: they count
		// as one refusal for the backoff, not one each (four of them once made the next wait 16 s).
		if (this.pacedSince === undefined || sentAt < this.pacedSince)
			this.refusalsInARow = Math.max(this.refusalsInARow, 1);
		else this.refusalsInARow++;
		this.pacedSince ??= now;
		// A refused request costs nothing; assume it did not count toward the window either.
		const index = this.sent.indexOf(sentAt);
		if (index >= 0) this.sent.splice(index, 1);
		if (limitPerMin !== undefined && limitPerMin > 0) {
			this.limit = Math.min(this.limit ?? Infinity, limitPerMin);
		}
		this.probing = true;
		this.probeInFlight = false;
		this.prune(now);
		if (retryAfterMs !== undefined) {
			this.blockedUntil = Math.max(this.blockedUntil, now + retryAfterMs);
		} else if (this.limit === undefined || this.sent.length < this.limit) {
			// Our own requests do not explain the refusal (other workflows share the plan): back off.
			this.blockedUntil = Math.max(
				this.blockedUntil,
				now + throttleBackoffMs(this.refusalsInARow, WINDOW_MS),
			);
		}
		this.wakeup.ring();
	}

	private record(now: number): number {
		this.prune(now);
		// Two requests in the same millisecond still need two entries that can be told apart.
		const sentAt =
			this.sent.length && this.sent[this.sent.length - 1] >= now
				? this.sent[this.sent.length - 1] + 0.001
				: now;
		this.sent.push(sentAt);
		return sentAt;
	}

	private prune(now: number): void {
		while (this.sent.length && this.sent[0] <= now - WINDOW_MS - WINDOW_MARGIN_MS)
			this.sent.shift();
	}

	/** When the next request may go: Infinity while a probe is out. */
	private nextSlot(now: number): number {
		if (this.probing && this.probeInFlight) return Infinity;
		let at = Math.max(now, this.blockedUntil);
		this.prune(now);
		if (this.limit !== undefined && this.sent.length >= this.limit) {
			at = Math.max(at, this.sent[this.sent.length - this.limit] + WINDOW_MS + WINDOW_MARGIN_MS);
		}
		return at;
	}

	private async waitForTurn(
		deadline: number,
		signals: AbortSignal[],
	): Promise<{ turn: Turn; sentAt: number; nextAt?: number }> {
		for (;;) {
			if (signals.some((signal) => signal.aborted)) return { turn: 'aborted', sentAt: 0 };
			const now = Date.now();
			const at = this.nextSlot(now);
			if (at <= now) {
				const sentAt = this.record(now);
				if (this.probing) this.probeInFlight = true;
				return { turn: 'go', sentAt };
			}
			if (now >= deadline || (at !== Infinity && at > deadline)) {
				return { turn: 'timeout', sentAt: 0, nextAt: at };
			}
			await pause(Math.min(at, deadline) - now, ...signals, this.wakeup.signal);
		}
	}
}

const pacers = new WeakMap<object, MinutePacer>();

/** The per-minute pace every credit-spending request of this execution shares. */
export function pacerOf(context: ApiContext): MinutePacer {
	let pacer = pacers.get(context);
	if (!pacer) {
		pacer = new MinutePacer();
		pacers.set(context, pacer);
	}
	return pacer;
}

/** A 429 `max_concurrent_requests`: the plan's cap and the wait webscrape.ai asked for, if any. */
export interface BusyRefusal {
	maxConcurrent?: number;
	retryAfterMs?: number;
}

const MAX_BUSY_BACKOFF_MS = 16_000;

/**
 * This batch's share of the plan's concurrency cap. It starts at the node's Concurrency. When
 * webscrape.ai answers 429 `max_concurrent_requests`, the share drops to what the plan was
 * accepting at that moment (this batch's requests and runs still in progress), and the refused
 * item waits for one of them to end — the slot it frees is the one we need — or, when none is in
 * progress, backs off. Each `limit` successes in a row raise the share by one again, because other
 * workflows on the same plan come and go. Whether runs in progress count toward the cap or only
 * requests in flight is not documented; the slot is held for whatever the caller holds it for.
 */
export class PlanSlots {
	limit: number;
	/** The cap webscrape.ai reported, for messages. */
	planCap: number | undefined;
	private active = 0;
	private streak = 0;
	private refusalsInARow = 0;
	private readonly wakeup = new Wakeup();
	private readonly waiting: number[] = [];

	constructor(private readonly max: number) {
		this.limit = max;
	}

	/**
	 * Waits for a free slot until `deadline`; on 'go' the caller holds one and must release it.
	 * Waiters are served lowest `priority` (the item index) first, so input order is kept.
	 */
	async acquire(priority: number, deadline: number, signals: AbortSignal[]): Promise<Turn> {
		this.waiting.push(priority);
		try {
			for (;;) {
				if (signals.some((signal) => signal.aborted)) return 'aborted';
				const ahead = this.waiting.filter((other) => other < priority).length;
				if (this.active + ahead < this.limit) {
					this.active++;
					return 'go';
				}
				const now = Date.now();
				if (now >= deadline) return 'timeout';
				await pause(deadline - now, ...signals, this.wakeup.signal);
			}
		} finally {
			this.waiting.splice(this.waiting.indexOf(priority), 1);
			this.wakeup.ring();
		}
	}

	release(): void {
		this.active--;
		this.wakeup.ring();
	}

	/** The request holding a slot got through: a long enough streak earns one more slot. */
	accepted(): void {
		this.refusalsInARow = 0;
		if (this.limit >= this.max) return;
		if (++this.streak >= this.limit) {
			this.streak = 0;
			this.limit++;
			this.wakeup.ring();
		}
	}

	/**
	 * The request holding a slot was refused for the plan's cap: give the slot up, lower the share
	 * to what the plan accepted, and wait for a slot again.
	 */
	async refused(
		refusal: BusyRefusal,
		priority: number,
		deadline: number,
		signals: AbortSignal[],
	): Promise<Turn> {
		this.refusalsInARow++;
		if (refusal.maxConcurrent !== undefined) this.planCap = refusal.maxConcurrent;
		this.active--;
		this.streak = 0;
		this.limit = Math.max(1, Math.min(this.limit, this.active, this.planCap ?? Infinity));
		if (this.active === 0 || refusal.retryAfterMs !== undefined) {
			// Nothing of ours will end and free a slot: the cap is held elsewhere. Back off.
			const wait =
				refusal.retryAfterMs ?? throttleBackoffMs(this.refusalsInARow, MAX_BUSY_BACKOFF_MS);
			if (Date.now() + wait >= deadline) return 'timeout';
			await pause(wait, ...signals);
		}
		return await this.acquire(priority, deadline, signals);
	}
}

/** What an item waits for a slot to do, for the message when it cannot. */
export interface SlotWait {
	itemIndex: number;
	deadline: number;
	timeoutMs: number;
	stop?: AbortSignal;
	/** "start the run", "send the request" */
	what: string;
	/** "runs in progress", "requests in flight" */
	unit: string;
}

/**
 * Holds one of the plan's slots while `work` runs, and hands `work` the callback the transport
 * calls when webscrape.ai says the plan's cap is reached, and the one to call on success.
 */
export async function withPlanSlot<T>(
	context: IExecuteFunctions,
	slots: PlanSlots,
	wait: SlotWait,
	work: (onBusy: (refusal: BusyRefusal) => Promise<void>, accepted: () => void) => Promise<T>,
): Promise<T> {
	const startedAt = Date.now();
	const signals = [cancelSignalOf(context), wait.stop].filter(
		(signal): signal is AbortSignal => !!signal,
	);
	let held = false;
	const take = (turn: Turn): void => {
		held = turn === 'go';
		if (held) return;
		throwIfStopped(context, wait.stop);
		throw slotTimeout(context, slots, wait, Date.now() - startedAt);
	};
	take(await slots.acquire(wait.itemIndex, wait.deadline, signals));
	try {
		return await work(
			async (refusal) => {
				held = false;
				take(await slots.refused(refusal, wait.itemIndex, wait.deadline, signals));
			},
			() => slots.accepted(),
		);
	} finally {
		if (held) slots.release();
	}
}

function slotTimeout(
	context: IExecuteFunctions,
	slots: PlanSlots,
	wait: SlotWait,
	waitedMs: number,
): NodeOperationError {
	const cap = slots.planCap
		? `your webscrape.ai plan allows ${slots.planCap} ${wait.unit} at once`
		: `your webscrape.ai plan's limit of ${wait.unit} was reached`;
	return new NodeOperationError(
		context.getNode(),
		`Could not ${wait.what} within its Timeout (${seconds(wait.timeoutMs)}): ${cap} (waited ${seconds(waitedMs)}) [item ${wait.itemIndex}]`,
		{
			itemIndex: wait.itemIndex,
			description:
				'Nothing was started for this item, so nothing was billed; what the other items started goes on. Raise the "Timeout" option, send fewer items at once, or upgrade the plan. Other workflows and schedules on the same plan share its limit.',
		},
	);
}

/** An item that could not get through the plan's per-minute limit before its timeout. */
export function perMinuteTimeout(
	node: INode,
	refusal: ApiFailure | undefined,
	pacer: MinutePacer,
	turn: { nextAt?: number },
	startedAt: number,
	call: { kind: RequestKind; itemIndex?: number },
	errorOptions: { subject?: RequestSubject; itemIndex?: number; secrets: string[] },
): NodeApiError {
	const limit = pacer.limit
		? `${pacer.limit} requests per minute`
		: 'a limited number of requests per minute';
	const what = call.kind === 'dispatch' ? 'start the run' : 'send the request';
	const item = call.itemIndex === undefined ? '' : ` [item ${call.itemIndex}]`;
	const now = Date.now();
	const next =
		turn.nextAt !== undefined && turn.nextAt !== Infinity && turn.nextAt > now
			? `; the next free turn was ${seconds(turn.nextAt - now)} away`
			: '';
	return toNodeApiError(
		node,
		{ ...(refusal ?? { status: 429, code: 'rate_limited' }), retries: 0 },
		{
			...errorOptions,
			message: `Could not ${what} within its Timeout: your webscrape.ai plan allows ${limit} (waited ${seconds(now - startedAt)}${next})${item}`,
			advice: `Nothing was sent for this item, so nothing was billed; the other items went on. Raise the "Timeout" option, send fewer items per execution, or upgrade the plan.`,
		},
	);
}
