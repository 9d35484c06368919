/** Exponential backoff with full jitter, and a sleep that an abort signal cuts short. */

export interface BackoffOptions {
  /** First delay, in ms. @default 200 */
  readonly initialDelayMs?: number;
  /** Longest delay, in ms. @default 30000 */
  readonly maxDelayMs?: number;
}

/** The delay before retry number `attempt` (1-based): up to initial * 2^(attempt-1), capped, randomized. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(30, attempt - 1));
  // Half fixed, half random: spreads retries without ever retrying at once.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
