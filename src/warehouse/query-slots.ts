/**
 * How many warehouse queries run at once: a few per caller and a bound for the whole server, so one caller
 * cannot take the warehouse's memory and threads from everyone else. Beyond either, a query is refused at
 * once (`WAREHOUSE_TOO_MANY_QUERIES`: 429 over HTTP, SQLSTATE 53300 on the PostgreSQL port) rather than queued,
 * so a client sees the limit instead of a hang.
 */
import { TollstreamError } from '../core/errors.ts';

export interface QuerySlotLimits {
  /** Queries one caller may run at once. */
  readonly perCaller: number;
  /** Queries all callers together may run at once. */
  readonly total: number;
}

export class QuerySlots {
  readonly #running = new Map<string, number>();
  #total = 0;

  constructor(private readonly limits: QuerySlotLimits) {}

  /** Takes a slot for `caller`, or refuses; call the returned function exactly once when the query ends. */
  acquire(caller: string): () => void {
    const mine = this.#running.get(caller) ?? 0;
    if (mine >= this.limits.perCaller) {
      throw new TollstreamError('WAREHOUSE_TOO_MANY_QUERIES', `this caller already runs ${mine} warehouse queries, the most it may run at once (warehouse.queriesPerCaller); retry when one has finished`, {
        context: { limit: this.limits.perCaller, scope: 'caller' },
      });
    }
    if (this.#total >= this.limits.total) {
      throw new TollstreamError('WAREHOUSE_TOO_MANY_QUERIES', `the server already runs ${this.#total} warehouse queries, the most it runs at once (warehouse.maxConcurrentQueries); retry shortly`, {
        context: { limit: this.limits.total, scope: 'server' },
      });
    }
    this.#running.set(caller, mine + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#running.get(caller) ?? 1) - 1;
      if (left === 0) this.#running.delete(caller);
      else this.#running.set(caller, left);
    };
  }
}
