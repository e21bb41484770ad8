import { sleep, sleepWithAbort } from 'n8n-workflow';

/**
 * The longest a wait sleeps before it looks at its signals again. With an abortable sleep a
 * signal ends the wait at once; this bound is what remains where n8n's sleep ignores the signal.
 */
const PAUSE_SLICE_MS = 1000;

type AbortableSleep = (ms: number, signal: AbortSignal) => Promise<void>;

/**
 * The abortable sleep the running n8n offers. The release lines differ:
 * - n8n 1.x (n8n-workflow 1.x) and 2.x up to at least 2.11: `sleepWithAbort(ms, signal)`, which
 *   rejects when the signal aborts; `sleep(ms)` takes no signal.
 * - n8n 2.41 (n8n-workflow 2.41): no `sleepWithAbort`; `sleep(ms, signal?)` takes the signal.
 * `scripts/compat-check.js` checks both names against each line's own n8n-workflow.
 */
const abortableSleep: AbortableSleep =
	typeof sleepWithAbort === 'function' ? sleepWithAbort : (sleep as AbortableSleep);

/**
 * Waits `ms`, returning early (without throwing) when any of the signals aborts. Uses n8n's own
 * timers, as community nodes must, in slices of at most PAUSE_SLICE_MS, so a wait never depends on
 * the abortable sleep alone: on an n8n whose sleep ignores the signal it still ends within a slice.
 * Each slice listens through its own controller, removed after it, so a long wait leaves no
 * listeners behind on the execution's signal (n8n's sleeps do not remove theirs).
 */
export async function pause(ms: number, ...signals: Array<AbortSignal | undefined>): Promise<void> {
	const active = signals.filter((signal): signal is AbortSignal => signal !== undefined);
	const until = Date.now() + ms;
	for (;;) {
		const left = until - Date.now();
		if (left <= 0 || active.some((signal) => signal.aborted)) return;
		const slice = Math.min(left, PAUSE_SLICE_MS);
		if (active.length === 0) {
			await sleep(slice);
			continue;
		}
		const wake = new AbortController();
		const onAbort = () => wake.abort();
		const stopListening = active.map((signal) => onAbortOf(signal, onAbort));
		try {
			await abortableSleep(slice, wake.signal);
		} catch {
			// Aborted: the loop returns and the caller checks its signals.
		} finally {
			for (const stop of stopListening) stop();
		}
	}
}

const abortWaiters = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `onAbort` when `signal` aborts, until the returned function is called. A signal gets one
 * listener of ours however many waits share it: a batch of Concurrency N has N waits on the
 * execution's signal, and more than 10 listeners make Node print a memory-leak warning in n8n's log.
 */
function onAbortOf(signal: AbortSignal, onAbort: () => void): () => void {
	let waiters = abortWaiters.get(signal);
	if (!waiters) {
		const set = new Set<() => void>();
		signal.addEventListener('abort', () => [...set].forEach((call) => call()), { once: true });
		abortWaiters.set(signal, set);
		waiters = set;
	}
	waiters.add(onAbort);
	return () => waiters.delete(onAbort);
}
