/**
 * The verifier of the delivery failover test: every acknowledged toll in the warehouse exactly once, nothing there
 * that was never sent. Reads the warehouse table directly (a loaded row per record, with its shard and sequence number).
 */
import type { Warehouse } from '../../src/warehouse/index.ts';

export interface DeliveryVerdict {
  /** Acknowledged transaction ids with no row. */
  readonly lost: readonly string[];
  /** Transaction ids with more than one row. */
  readonly doubled: readonly string[];
  /** Rows whose transaction was never sent. */
  readonly unknown: readonly string[];
  readonly rows: number;
}

export async function verifyDelivered(warehouse: Warehouse, acknowledged: ReadonlySet<string>, sent: ReadonlySet<string>): Promise<DeliveryVerdict> {
  const counts = new Map<string, number>();
  let rows = 0;
  await warehouse.streamQuery('SELECT transaction_id FROM toll_transactions', {}, {
    columns: () => undefined,
    rows: (chunk) => {
      for (const [id] of chunk) {
        counts.set(String(id), (counts.get(String(id)) ?? 0) + 1);
        rows++;
      }
    },
  });
  return {
    lost: [...acknowledged].filter((id) => !counts.has(id)).sort(),
    doubled: [...counts].filter(([, n]) => n > 1).map(([id]) => id).sort(),
    unknown: [...counts.keys()].filter((id) => !sent.has(id)).sort(),
    rows,
  };
}
