/**
 * Opening what a cluster node shares with the others (the NATS cluster, PostgreSQL): a node started while it
 * cannot be reached says so in one line and keeps trying, and says when it got through.
 */
import type { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

export async function openWhenReachable<T>(
  what: string,
  open: () => Promise<T>,
  /** Whether the failure is the other side out of reach (retried) rather than a mistake (thrown). */
  unreachable: (err: unknown) => err is TollstreamError,
  logger: Logger,
  fields: Record<string, unknown> = {},
  retryMs = 2000,
): Promise<T> {
  let waiting = false;
  for (;;) {
    try {
      const opened = await open();
      if (waiting) logger.info(`reached ${what}`, fields);
      return opened;
    } catch (err) {
      if (!unreachable(err)) throw err;
      if (!waiting) logger.warn(`cannot reach ${what}, retrying every ${retryMs} ms: ${err.message}`, fields);
      waiting = true;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}
