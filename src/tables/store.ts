/**
 * What both backends of the asynchronous door (`TableStore`) share: knowing whether code runs inside one of
 * a store's own transactions, and a queue that runs work one at a time.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { TollstreamError } from '../core/errors.ts';

/** Which stores' transaction functions the current async context runs inside. */
const inside = new AsyncLocalStorage<ReadonlySet<object>>();

/** Transaction functions running now, over every store. */
let running = 0;

/**
 * Runs `fn` marked as inside a transaction of `store`. While any AsyncLocalStorage is on, every promise of
 * the process pays for carrying its context, so it is switched off whenever no transaction function runs.
 */
export async function withinTransaction<T>(store: object, fn: () => Promise<T>): Promise<T> {
  const outer = inside.getStore();
  running++;
  try {
    return await inside.run(new Set(outer ? [...outer, store] : [store]), fn);
  } finally {
    if (--running === 0) inside.disable();
  }
}

/**
 * Refuses a call on the store itself from inside one of its transactions: on SQLite it would wait for the
 * transaction it runs in (forever), on PostgreSQL it would commit apart from it on another connection.
 */
export function assertOutsideTransaction(store: object, operation: string): void {
  if (inside.getStore()?.has(store)) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `${operation} was called on the store inside one of its own transactions; use the transaction's tx (tx.transaction for a nested one)`,
      { context: { operation } },
    );
  }
}

/** Runs queued work one piece at a time, in the order it was queued. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once everything queued so far has ended. */
  async drain(): Promise<void> {
    await this.#tail;
  }
}

export function endedTransaction(): TollstreamError {
  return new TollstreamError('INVALID_ARGUMENT', 'this transaction has ended; use tx only inside the function given to transaction()');
}
