/**
 * The deployed function of the cluster redrive test: counts each record once by its id, in the table `effects`, in
 * the transaction that moves the mapping's checkpoints; it fails while the file a record names as `breaker` exists
 * (a service down), so its batches are given up on until the file is removed.
 */
import { existsSync } from 'node:fs';

export const tables = ['effects'];

interface Event {
  readonly records: readonly { json<T>(): T }[];
}

interface Tx {
  update(table: string, key: { pk: string }, spec: { add: Record<string, number> }): Promise<unknown>;
}

interface Context {
  transact<T>(fn: (tx: Tx) => Promise<T> | T): Promise<T>;
}

export async function handler(event: Event, ctx: Context): Promise<void> {
  const records = event.records.map((r) => r.json<{ id: string; breaker?: string }>());
  const down = records.find((r) => r.breaker !== undefined && existsSync(r.breaker));
  if (down) throw new Error(`the service is down (${down.breaker} exists)`);
  await ctx.transact(async (tx) => {
    for (const r of records) await tx.update('effects', { pk: r.id }, { add: { count: 1 } });
  });
}
