/**
 * Waiting in tests for something that happens on its own (a delivery, an alert, a server's answer): the one
 * helper. The bound is on waiting, never on speed: a slow machine waits longer, a broken one fails naming what
 * never came.
 */

export interface WaitOptions {
  /** Give up after this long, in ms. @default 30000 */
  readonly timeoutMs?: number;
  /** Time between probes, in ms. @default 50 */
  readonly intervalMs?: number;
}

/**
 * Probes until `probe` gives a value other than `undefined` or `false` and returns it; throws naming `what` once
 * `timeoutMs` passed. A probe that throws fails the wait at once.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, options: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
