import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { BusyRefusal } from '../transport';
import { cancelSignalOf, seconds, throwIfStopped } from '../transport';
import { pause } from '../transport/pause';
import type { Turn } from '../transport/throttle';
import { throttleBackoffMs, Wakeup } from '../transport/throttle';

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
