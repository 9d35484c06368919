/**
 * The worked example of docs/functions.md: tolls and revenue per plaza, kept in the table `plaza_totals`.
 * A user's handler module, outside Tollstream's source: it imports only its own files.
 */
import { tollOf, type Toll } from './toll.ts';

/** Created when the function is deployed, if missing. */
export const tables = ['plaza_totals'];

interface Event {
  readonly records: readonly { json<T>(): T }[];
}

interface Tx {
  update(table: string, key: { pk: string }, spec: { add: Record<string, number> }): Promise<unknown>;
}

interface Context {
  readonly logger: { info(msg: string, fields?: Record<string, unknown>): void };
  transact<T>(fn: (tx: Tx) => Promise<T> | T): Promise<T>;
}

export async function handler(event: Event, ctx: Context): Promise<void> {
  const tolls: Toll[] = event.records.map((r) => tollOf(r.json()));
  // One transaction per batch: the totals and the function's checkpoint commit together, so a batch
  // delivered again after a crash is recognized and not counted twice.
  await ctx.transact(async (tx) => {
    for (const toll of tolls) await tx.update('plaza_totals', { pk: toll.plaza_id }, { add: { tolls: 1, amount_cents: toll.amount_cents } });
  });
  ctx.logger.info('counted tolls', { tolls: tolls.length });
}
