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

/**
 * Reads until `done` holds for what `read` gives, and returns it; the error after `timeoutMs` shows the last value
 * read, to tell a slow answer from a wrong one.
 */
export async function waitUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, options: WaitOptions = {}): Promise<T> {
  let last: { value: T } | undefined;
  try {
    return (await waitFor(what, async () => {
      const value = await read();
      last = { value };
      return done(value) ? { value } : undefined;
    }, options)).value;
  } catch (err) {
    if (last === undefined) throw err;
    const shown = JSON.stringify(last.value, (_key, v: unknown) => (v instanceof Map ? [...v] : v)) ?? String(last.value);
    throw new Error(`${(err as Error).message}; last read: ${shown.slice(0, 300)}`);
  }
}
