/**
 * The live inbox feed. The database is the only source of entries: the feed reads pages after its cursor
 * and, when caught up, waits for a wake-up (or the poll interval, for entries written by other processes).
 * Entry ids grow in commit order (SQLite has one writer at a time; on PostgreSQL one fan-out at a time takes them,
 * under a lock held to commit), so reading `id > cursor` can neither skip nor repeat an entry, whether it was replayed or arrived live.
 */
import { TollstreamError } from '../core/errors.ts';
import type { Awaitable, InboxEntry, InboxEventsOptions } from './types.ts';

/** Reads a customer's entries after an id, oldest first. */
export type InboxPage = (customerId: string, options: { readonly after: number; readonly limit: number }) => Awaitable<readonly InboxEntry[]>;

const PAGE = 100;

export class InboxHub {
  readonly #waiters = new Map<string, Set<() => void>>();
  #closed = false;
  /** Counts wake-ups of any customer: a feed that read a page before a wake-up it did not wait for reads again. */
  #generation = 0;

  get generation(): number {
    return this.#generation;
  }

  /** True once the database is closing: feeds end instead of reading again. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Ends every feed (they finish quietly, so SSE responses end cleanly at shutdown). */
  close(): void {
    this.#closed = true;
    for (const customerId of [...this.#waiters.keys()]) this.notify(customerId);
  }

  /** Wakes every feed of this customer. */
  notify(customerId: string): void {
    this.#generation++;
    const waiting = this.#waiters.get(customerId);
    if (!waiting) return;
    this.#waiters.delete(customerId);
    for (const wake of waiting) wake();
  }

  /**
   * Resolves on the next `notify(customerId)`, after `timeoutMs`, or when `signal` aborts; at once when any
   * wake-up came after `generation` was read (the page read since then may have missed it).
   */
  wait(customerId: string, timeoutMs: number, signal?: AbortSignal, generation = this.#generation): Promise<void> {
    return new Promise((resolve) => {
      if (generation !== this.#generation) return resolve();
      let set = this.#waiters.get(customerId);
      if (!set) this.#waiters.set(customerId, (set = new Set()));
      const waiting = set;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiting.delete(done);
        if (waiting.size === 0 && this.#waiters.get(customerId) === waiting) this.#waiters.delete(customerId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      waiting.add(done);
    });
  }
}

export function parseLastEventId(value: number | string | undefined): number {
  if (value === undefined || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || (typeof value === 'string' && !/^[0-9]+$/.test(value))) {
    throw new TollstreamError('INVALID_ARGUMENT', `lastEventId '${value}' is not an inbox event id (a non-negative integer)`, {
      context: { lastEventId: value },
    });
  }
  return n;
}

export function inboxEvents(
  listInbox: InboxPage,
  hub: InboxHub,
  customerId: string,
  options: InboxEventsOptions,
  pollIntervalMs: number,
): AsyncIterable<InboxEntry> {
  // Validated here, not on the first next(), so a bad Last-Event-ID fails before any response is written.
  const start = parseLastEventId(options.lastEventId);
  const signal = options.signal;
  return {
    async *[Symbol.asyncIterator]() {
      let cursor = start;
      while (!signal?.aborted && !hub.closed) {
        const generation = hub.generation;
        const page = await listInbox(customerId, { after: cursor, limit: PAGE });
        if (page.length === 0) {
          await hub.wait(customerId, pollIntervalMs, signal, generation);
          continue;
        }
        for (const entry of page) {
          if (signal?.aborted || hub.closed) return;
          yield entry;
          cursor = entry.id;
        }
      }
    },
  };
}
