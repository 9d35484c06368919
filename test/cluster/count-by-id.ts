/**
 * The deployed function of the function failover test: counts each record once by its id, in the table `effects`,
 * with the shard and the time of the invocation, in the transaction that moves the mapping's checkpoints.
 */
export const tables = ['effects'];

interface Event {
  readonly shardId: string;
  readonly records: readonly { json<T>(): T }[];
}

interface Tx {
  update(table: string, key: { pk: string }, spec: { add: Record<string, number>; set: Record<string, string | number> }): Promise<unknown>;
}

interface Context {
  transact<T>(fn: (tx: Tx) => Promise<T> | T): Promise<T>;
}

export async function handler(event: Event, ctx: Context): Promise<void> {
  const at = Date.now();
  await ctx.transact(async (tx) => {
    for (const r of event.records) await tx.update('effects', { pk: r.json<{ id: string }>().id }, { add: { count: 1 }, set: { shardId: event.shardId, at } });
  });
}
