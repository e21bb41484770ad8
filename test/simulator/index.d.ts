/* Types of the JavaScript simulator, for the TypeScript tests. */
import type { IDataObject } from 'n8n-workflow';

export declare const TEST_KEY: string;
/** A made-up key of the same shape for an account of a test's own, ending in `label`. */
export declare function fakeKey(label: string): string;
/** mulberry32: a small seeded PRNG, numbers in [0, 1). */
export declare function seededRandom(seed: number): () => number;

export interface LogEntry {
	at: number;
	t: number;
	method: string;
	path: string;
	route: 'dispatch' | 'run' | 'usage' | 'scrape' | 'extract' | 'unknown';
	id?: string;
	keyValid: boolean;
	/** The last 6 characters of the key that sent it. */
	account?: string;
	contentType?: string;
	body?: unknown;
	status?: number | 'reset' | 'cut';
	fault?: string;
	/** The run a dispatch created. */
	runId?: string;
	/** What a scrape or extraction was charged. */
	credits?: number;
}

export interface FaultSpec {
	route?: LogEntry['route'] | '*';
	times?: number;
	type:
		| 'status'
		| 'rate_limited'
		| 'reset-before'
		| 'reset-after'
		| 'slow'
		| 'malformed'
		| 'cut'
		| 'html'
		| 'plain401';
	status?: number;
	code?: string;
	message?: string;
	details?: Record<string, unknown>;
	reason?: 'rate_limit_per_min' | 'max_concurrent_requests' | 'sb_runs_per_month';
	retryAfter?: number | string;
	delayMs?: number;
	/** type 'status': the request is processed (and billed) first, then answered with the status. */
	processed?: boolean;
}

export interface RecipeSpec {
	pages?: number;
	itemsPerPage?: number;
	durationMs?: number;
	outcome?: 'completed' | 'failed' | 'cancelled';
	error?: string;
	drift?: number;
	warnings?: string[];
	queuedMs?: number;
	item?: (page: number, index: number) => unknown;
	/** Every run returns the same rows (serialised once for all runs: large-result benchmarks). */
	sameResult?: boolean;
	webhook?: {
		url: string;
		headers?: Record<string, string>;
		events?: string[];
		eventStyle?: 'plain' | 'prefixed';
	};
}

export interface Account {
	credits: number;
	runsUsed30d: number;
	runsCap: number;
	pagesPerRunCap: number;
	revoked: boolean;
	/** Plan concurrency cap (429 max_concurrent_requests); unset: none. */
	maxConcurrent?: number;
	/** What counts toward the cap: runs in progress and requests in flight, or requests only. */
	concurrencyCounts?: 'runs' | 'requests';
	/** Plan per-minute cap over a sliding 60 s window (429 rate_limit_per_min); unset: none. */
	perMinute?: number;
	/** Whether a per-minute refusal carries Retry-After (seconds until the window frees). */
	retryAfter?: boolean;
	responseDelayMs?: number;
	/** Times of the requests the per-minute window accepted. */
	accepted: number[];
	refused: { rate_limit_per_min: number; max_concurrent_requests: number };
}

export interface SimRun {
	id: string;
	recipeId: string;
	createdAt: number;
	endsAt: number;
	outcome: string;
	pages: number;
	itemsPerPage: number;
}

export interface Delivery {
	runId: string;
	url: string;
	payload: IDataObject;
	status?: number;
	responseBody?: string;
	error?: string;
}

export declare class Simulator {
	constructor(options?: { timeScale?: number; seed?: number });
	baseUrl: string;
	origin: string;
	port: number;
	runs: Map<string, SimRun>;
	log: LogEntry[];
	deliveries: Delivery[];
	addKey(key: string, account?: Partial<Account>): Account;
	account(key?: string): Account;
	occupy(count: number, ms: number, key?: string): void;
	revokeKey(key: string): void;
	addRecipe(id: string, spec?: RecipeSpec): RecipeSpec;
	fault(spec: FaultSpec): void;
	clearFaults(): void;
	faultWith(picker: ((entry: LogEntry) => FaultSpec | undefined) | undefined): void;
	refuseConnections(ms: number): void;
	faultRandomly(rate: number, kinds?: string[]): void;
	start(port?: number): Promise<string>;
	stop(): Promise<void>;
	requests(route?: LogEntry['route']): LogEntry[];
	maxConcurrentRuns(): number;
	runsOverlapped(): boolean;
	clearLog(): void;
	deliver(
		runId: string,
		options?: {
			style?: 'plain' | 'prefixed';
			url?: string;
			headers?: Record<string, string>;
			payload?: unknown;
		},
	): Promise<void>;
	deliveriesSettled(): Promise<void>;
	webhookPayload(run: SimRun, style?: 'plain' | 'prefixed'): IDataObject;
	seedCompletedRun(recipeId: string, key?: string): SimRun;
}
