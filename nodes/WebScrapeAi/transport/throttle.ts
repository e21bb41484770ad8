import { pause } from './pause';

const WINDOW_MS = 60_000;
/** The server stamps a request a little after we send it; pace with this much to spare. */
const WINDOW_MARGIN_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

/** How a wait for the plan's throttles ended. */
export type Turn = 'go' | 'timeout' | 'aborted';

/** Exponential backoff with ±30 % jitter, as the vendor's retry guidance describes. */
export function throttleBackoffMs(attempt: number, capMs = MAX_BACKOFF_MS): number {
	const base = Math.min(capMs, 1000 * 2 ** Math.max(0, attempt - 1));
	return Math.round(base * (1 + (Math.random() * 2 - 1) * 0.3));
}

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

	/** webscrape.ai refused the request sent at `sentAt`: 429 `rate_limit_per_min`. */
	refused(sentAt: number, limitPerMin: number | undefined, retryAfterMs: number | undefined): void {
		const now = Date.now();
		this.refusalsInARow++;
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
