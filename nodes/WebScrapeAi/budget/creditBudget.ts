import type { IDataObject, IExecuteFunctions, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ApiEnvelope } from '../transport';
import { readUsage } from '../transport';
import { pause } from '../transport/pause';
import type { BilledCallRecord } from '../exactlyOnce/billedCallRecord';
import { runsAsTool, sharedToolBudget } from '../core/asTool';
import { numberOption } from '../core/validation';

/**
 * What a node may spend: Max Credits (per execution of the node) and Keep at Least (credits to
 * leave on the account). Before each billed call the node sets aside the call's worst case; the
 * answer's `credits_used` replaces it (a run's, once the run has ended). A call whose worst case
 * does not fit is not sent. The reservation is taken before the call waits for a slot of the plan
 * (an item waiting for the budget holds none) and held across the plan's waits and retries, so the
 * cap holds whatever the concurrency, retries or waits. A call whose outcome is unknown, and an item an earlier attempt of the
 * execution may have sent, keep their worst case: they may have been billed.
 */
export interface BudgetLimits {
	/** 0: no cap. */
	maxCredits: number;
	/** 0: off. */
	keepAtLeast: number;
}

/** Credits per call, from webscrape.ai's credit table (the README's "Credits per operation"). */
export const PAGE_CREDITS = {
	'/scrape': { plain: 1, stealth: 3 },
	'/smartscraper': { plain: 5, stealth: 10 },
} as const;

/** Why a second attempt of an execution refuses what the first may have paid for. */
const EARLIER_ATTEMPT_NOTE =
	'n8n ran this execution again, most likely because the worker running it stopped (queue mode). What the first attempt spent is not known here, so all it may have spent counts toward "Max Credits". This attempt sent nothing; the first attempt may have: check the webscrape.ai dashboard before running it again.';

/** A call that did not fit: an item's error, or (as a tool) a plain answer. */
export class BudgetRefusal extends NodeOperationError {
	constructor(
		node: INode,
		message: string,
		readonly itemIndex: number,
		readonly toolNote: string,
		description: string,
	) {
		super(node, `${message} [item ${itemIndex}]`, { itemIndex, description });
	}
}

/**
 * Reads and checks the two options from `itemIndex`, the batch's first valid item: they are per node
 * run, not per item, like Concurrency.
 */
function readBudgetLimits(context: IExecuteFunctions, itemIndex = 0): BudgetLimits {
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const node = context.getNode();
	const whole = { min: 0, integer: true };
	return {
		maxCredits: numberOption(node, options.maxCredits, 'Max Credits', itemIndex, whole, 0),
		keepAtLeast: numberOption(node, options.keepAtLeast, 'Keep at Least', itemIndex, whole, 0),
	};
}

/** A worst case set aside for one call until its answer (or its run's end) says what it cost. */
export interface Reservation {
	worst: number;
	settled: boolean;
}

export class CreditBudget {
	/** Credits answers said were used, plus worst cases of calls that may have been billed. */
	private spent = 0;
	/** Worst cases of calls sent (or about to be) whose cost is not known yet. */
	private reserved = 0;
	/** Of `spent`: what an earlier attempt of this execution may have spent (n8n ran it again). */
	private earlier = 0;
	/** The account's balance as last reported, minus what was set aside since. */
	private balance?: number;
	/** Calls waiting for answers in progress to free what they set aside. */
	private readonly waiters: Array<() => void> = [];

	constructor(
		public limits: BudgetLimits,
		/** "this execution", or for a tool without one, "this tool today" (24 hours from its first call). */
		private readonly scope = 'this execution',
	) {}

	get active(): boolean {
		return this.limits.maxCredits > 0 || this.limits.keepAtLeast > 0;
	}

	/** Keep at Least needs the balance before the first reservation. */
	get needsBalance(): boolean {
		return this.limits.keepAtLeast > 0 && this.balance === undefined;
	}

	/** What was spent so far, with the worst case of every call whose cost is not known yet. */
	get total(): number {
		return this.spent + this.reserved;
	}

	/** A balance the API reported (`credits_remaining`) after the calls answered so far. */
	learnBalance(remaining: unknown): void {
		if (typeof remaining !== 'number' || !Number.isFinite(remaining)) return;
		// Calls still in flight may not be in that figure yet: count them as not.
		this.balance = remaining - this.reserved;
	}

	/**
	 * An earlier attempt of this execution ran this node run (n8n ran the job again) and may have
	 * spent up to `upTo`; what it spent is not known here, so all of it counts.
	 */
	assumeSpent(upTo: number): void {
		this.spent += upTo;
		this.earlier += upTo;
	}

	/** What a second attempt counts for the first, in the words every refusal uses. */
	private get earlierSpent(): string {
		return `an earlier attempt of this execution may have spent up to ${this.earlier}`;
	}

	/**
	 * Sets aside `worst` credits for item `itemIndex`'s call. When only calls in progress stand in
	 * the way (their answers may free what they set aside), waits for them until `deadline`; when
	 * the call cannot fit even then, or the deadline passes, throws BudgetRefusal.
	 */
	async reserve(
		node: INode,
		itemIndex: number,
		worst: number,
		wait: { deadline?: number; signals?: Array<AbortSignal | undefined> } = {},
	): Promise<Reservation> {
		for (;;) {
			const refusal = this.refusal(node, itemIndex, worst);
			if (refusal === undefined) {
				this.reserved += worst;
				if (this.balance !== undefined) this.balance -= worst;
				return { worst, settled: false };
			}
			const left = (wait.deadline ?? Date.now()) - Date.now();
			if (refusal.final || this.reserved === 0 || left <= 0) throw refusal.error;
			// Woken by an answer, the pause must end too, not sleep on until the deadline.
			const woken = new AbortController();
			try {
				await Promise.race([
					new Promise<void>((resolve) => this.waiters.push(resolve)),
					pause(left, woken.signal, ...(wait.signals ?? [])),
				]);
			} finally {
				woken.abort();
			}
			if (wait.signals?.some((signal) => signal?.aborted)) throw refusal.error;
		}
	}

	/**
	 * Throws the refusal when `worst` cannot fit even once every call in progress is answered, so an
	 * item that will be refused does not first wait for a slot or a per-minute turn of the plan.
	 */
	refuseIfHopeless(node: INode, itemIndex: number, worst: number): void {
		const refusal = this.refusal(node, itemIndex, worst);
		if (refusal?.final) throw refusal.error;
	}

	/**
	 * Why a whole batch of calls with these worst cases cannot fit, before any is sent; undefined
	 * when it can. Used where worst cases are exact prices (Scrape, Extract) and the node would
	 * otherwise fail halfway, when n8n keeps none of the results already paid for.
	 */
	batchRefusal(node: INode, worstCases: number[]): NodeOperationError | undefined {
		const { maxCredits, keepAtLeast } = this.limits;
		const need = worstCases.reduce((sum, worst) => sum + worst, 0);
		const underCap = maxCredits > 0 ? maxCredits - this.total : Infinity;
		const overFloor =
			keepAtLeast > 0 && this.balance !== undefined ? this.balance - keepAtLeast : Infinity;
		const room = Math.max(0, Math.min(underCap, overFloor));
		if (need <= room) return undefined;
		let firstOut = 0;
		for (let running = 0; firstOut < worstCases.length; firstOut++) {
			running += worstCases[firstOut];
			if (running > room) break;
		}
		const requests = worstCases.filter((worst) => worst > 0).length;
		const earlier = this.earlier > 0 ? ` (${this.earlierSpent}: n8n ran it again)` : '';
		const limit =
			underCap <= overFloor
				? `the budget of ${maxCredits} credits for this execution allows ${room}${earlier}`
				: `your webscrape.ai balance (${this.balance} credits) must stay at ${keepAtLeast} or more`;
		return new NodeOperationError(
			node,
			`This batch of ${requests} requests could cost up to ${need} credits, but ${limit}: nothing was sent [item ${firstOut}]`,
			{
				itemIndex: firstOut,
				description:
					this.earlier > 0
						? EARLIER_ATTEMPT_NOTE
						: `Item ${firstOut} is the first that would not fit. Without "On Error → Continue", a budget reached halfway would stop the node, and n8n keeps no output of a stopped node, so results already paid for would be lost: nothing was sent. Send fewer items (a Limit node), raise "Max Credits", or set On Error to "Continue (using error output)" to get the requests that fit and an error item for each of the others.`,
			},
		);
	}

	/** Why `worst` does not fit now; `final` when no answer still to come could make it fit. */
	private refusal(
		node: INode,
		itemIndex: number,
		worst: number,
	): { error: BudgetRefusal; final: boolean } | undefined {
		const { maxCredits, keepAtLeast } = this.limits;
		if (maxCredits > 0 && this.spent + this.reserved + worst > maxCredits) {
			const inFlight =
				this.reserved > 0 ? `, and ${this.reserved} set aside for requests in progress` : '';
			const spent =
				this.earlier > 0
					? `${this.earlierSpent} (n8n ran it again), this one ${this.spent - this.earlier}`
					: `spent ${this.spent}`;
			const reached = `Budget of ${maxCredits} credits for ${this.scope} reached: ${spent}${inFlight}`;
			return {
				final: this.spent + worst > maxCredits,
				error: new BudgetRefusal(
					node,
					`${reached}; this request could cost up to ${worst}, so it was not sent`,
					itemIndex,
					`${reached}. This request (up to ${worst} credits) was not sent and nothing was billed for it. Do not call again: further calls are refused too until the budget ("Max Credits") is raised.`,
					this.earlier > 0
						? EARLIER_ATTEMPT_NOTE
						: 'Nothing was sent for this item, so nothing was billed. Raise "Max Credits" in the node\'s options, or send fewer items.',
				),
			};
		}
		if (keepAtLeast > 0 && this.balance !== undefined && this.balance - worst < keepAtLeast) {
			const balance = Math.max(0, this.balance);
			const floor = `Your webscrape.ai balance (${balance} credits after requests in progress) must stay at ${keepAtLeast} or more`;
			return {
				final: this.balance + this.reserved - worst < keepAtLeast,
				error: new BudgetRefusal(
					node,
					`${floor}; this request could cost up to ${worst}, so it was not sent`,
					itemIndex,
					`${floor}. This request (up to ${worst} credits) was not sent and nothing was billed for it. Do not call again until credits are topped up.`,
					'Nothing was sent for this item, so nothing was billed. Top up your credits, or lower "Keep at Least" in the node\'s options.',
				),
			};
		}
		return undefined;
	}

	/** The call (or its run) was answered with its cost: the rest of the reservation is free. */
	settle(reservation: Reservation, used: unknown, remaining?: unknown): void {
		if (reservation.settled) return;
		reservation.settled = true;
		const cost =
			typeof used === 'number' && Number.isFinite(used) && used >= 0 ? used : reservation.worst;
		this.reserved -= reservation.worst;
		this.spent += cost;
		if (this.balance !== undefined) this.balance += reservation.worst - cost;
		if (remaining !== undefined) this.learnBalance(remaining);
		for (const wake of this.waiters.splice(0)) wake();
	}

	/** The call may have been billed and its cost is not known: it keeps its worst case. */
	keep(reservation: Reservation): void {
		this.settle(reservation, reservation.worst);
	}

	/** Nothing was billed (not sent, or refused, which costs nothing): the reservation is free. */
	release(reservation: Reservation): void {
		this.settle(reservation, 0);
	}
}

/**
 * The budget of this node run. A tool is called once per call of an agent or MCP client, so its
 * budget spans the calls of one execution (an AI Agent's), or, when n8n runs the call outside any
 * execution (an MCP Server Trigger's), this process's calls for 24 hours from the first.
 */
export function budgetFor(context: IExecuteFunctions, firstItem = 0): CreditBudget {
	const limits = readBudgetLimits(context, firstItem);
	if (!runsAsTool(context)) return new CreditBudget(limits);
	const budget = sharedToolBudget(context, (scope) => new CreditBudget(limits, scope));
	// The options may have been changed since (a raised cap takes effect at once).
	budget.limits = limits;
	return budget;
}

/** What a run cost once it ended: completed runs are billed per page; failed and cancelled, not. */
export function endedRunCost(ended: ApiEnvelope, costPerPage: number): number {
	if (ended.data.run_status !== 'completed') return 0;
	const used = ended.data.credits_used;
	if (typeof used === 'number' && Number.isFinite(used)) return used;
	const pages = Number(ended.data.pages_extracted);
	return Number.isFinite(pages) ? pages * costPerPage : Number.NaN;
}

/** Tells the user in the output pane what this node run spent, when a budget is set. */
export function reportSpent(context: IExecuteFunctions, budget: CreditBudget): void {
	if (!budget.active) return;
	const cap = budget.limits.maxCredits > 0 ? ` of the ${budget.limits.maxCredits} allowed` : '';
	const message = `Spent ${budget.total} credits${cap} in this execution (worst cases of requests whose cost is not known yet included).`;
	context.logger.info(`${context.getNode().name}: ${message}`);
	if (typeof context.addExecutionHints === 'function')
		context.addExecutionHints({ message, location: 'outputPane' });
}

/**
 * Before a node run's first billed call: Keep at Least learns the balance the cheapest true way the
 * API allows (the usage endpoint: free, not rate-limited, and its envelope carries
 * `credits_remaining`; `usage` when the caller read it already), and a second attempt of the
 * execution counts what the first may have spent: every item's worst case, up to the cap (what it
 * really spent is not known here), so the cap holds across both attempts.
 */
export async function openBudget(
	context: IExecuteFunctions,
	budget: CreditBudget,
	record: BilledCallRecord,
	worstCases: number[],
	usage?: ApiEnvelope,
): Promise<void> {
	if (!budget.active) return;
	if (budget.needsBalance)
		budget.learnBalance((usage ?? (await readUsage.call(context))).credits_remaining);
	const { maxCredits } = budget.limits;
	if (maxCredits > 0 && (await record.earlierAttempt())) {
		const upTo = worstCases.reduce((sum, worst) => sum + worst, 0);
		budget.assumeSpent(Math.min(maxCredits, upTo));
	}
}
