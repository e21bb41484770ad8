import { sleep, sleepWithAbort } from 'n8n-workflow';

/**
 * Waits `ms`, returning early (without throwing) when any of the signals aborts. Uses n8n's own
 * timers, as community nodes must.
 */
export async function pause(ms: number, ...signals: Array<AbortSignal | undefined>): Promise<void> {
	const active = signals.filter((signal): signal is AbortSignal => signal !== undefined);
	if (active.some((signal) => signal.aborted) || ms <= 0) return;
	// n8n-workflow releases before sleepWithAbort existed still load this package.
	if (typeof sleepWithAbort !== 'function') return await sleep(ms);
	const combined = active.length > 1 ? AbortSignal.any(active) : active[0];
	try {
		await sleepWithAbort(ms, combined);
	} catch {
		// Aborted: the caller checks its signals.
	}
}
