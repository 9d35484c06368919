/**
 * The verifier of the cluster failover tests: every acknowledged toll in the warehouse exactly once, nothing there
 * that was never sent, and nothing out of order: per shard, the warehouse's order by sequence number is the order
 * the log holds the records in, and per partition key it is the order the producer had them acknowledged (which
 * also catches a log that stored a key's records out of order). Reads the warehouse table directly (a loaded row
 * per record, with its shard and sequence number); `judgeDelivered` is the same verdict over rows given.
 * `judgeOnce` does the same for notifications (breaches, station alerts) by key: each expected one seen once.
 */
import type { Warehouse } from '../../src/warehouse/index.ts';

export interface DeliveredRow {
  readonly transactionId: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

export interface DeliveryExpectations {
  /** Transaction ids whose write was acknowledged: each must have exactly one row. */
  readonly acknowledged: ReadonlySet<string>;
  /** Every transaction id ever sent (acknowledged or not): a row of any other is unknown. */
  readonly sent: ReadonlySet<string>;
  /** Per shard id, the transaction ids in the order the log holds them. */
  readonly logOrder?: ReadonlyMap<string, readonly string[]>;
  /** Per partition key, the transaction ids in the order their writes were first acknowledged. */
  readonly keyOrder?: ReadonlyMap<string, readonly string[]>;
}

export interface DeliveryVerdict {
  /** Acknowledged transaction ids with no row. */
  readonly lost: readonly string[];
  /** Transaction ids with more than one row. */
  readonly doubled: readonly string[];
  /** Rows whose transaction was never sent. */
  readonly unknown: readonly string[];
  /**
   * Transaction ids out of place: the fewest rows that, moved, would give each shard the log's order and each
   * partition key the acknowledged order (and rows in another shard than the log put them in).
   */
  readonly reordered: readonly string[];
  readonly rows: number;
}

export async function verifyDelivered(warehouse: Warehouse, expect: DeliveryExpectations): Promise<DeliveryVerdict> {
  const rows: DeliveredRow[] = [];
  await warehouse.streamQuery('SELECT transaction_id, shard_id, sequence_number FROM toll_transactions', {}, {
    columns: () => undefined,
    rows: (chunk) => {
      for (const [id, shard, seq] of chunk) rows.push({ transactionId: String(id), shardId: String(shard), sequenceNumber: String(seq) });
    },
  });
  return judgeDelivered(rows, expect);
}

export function judgeDelivered(rows: readonly DeliveredRow[], expect: DeliveryExpectations): DeliveryVerdict {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.transactionId, (counts.get(row.transactionId) ?? 0) + 1);
  // In warehouse order: by shard, then by sequence number as a number; a doubled record counts at its first row.
  const ordered = [...rows].sort((a, b) => (a.shardId === b.shardId ? compareSequence(a.sequenceNumber, b.sequenceNumber) : a.shardId < b.shardId ? -1 : 1));
  const first = new Map<string, DeliveredRow>();
  for (const row of ordered) if (!first.has(row.transactionId)) first.set(row.transactionId, row);
  const reordered = new Set<string>();

  if (expect.logOrder) {
    const shardOfLog = new Map<string, string>();
    for (const [shard, ids] of expect.logOrder) for (const id of ids) shardOfLog.set(id, shard);
    const byShard = new Map<string, string[]>();
    for (const row of first.values()) {
      const logShard = shardOfLog.get(row.transactionId);
      if (logShard === undefined) continue; // not in the log: unknown, or lost by the log (judged by `acknowledged`)
      if (logShard !== row.shardId) reordered.add(row.transactionId);
      else (byShard.get(row.shardId) ?? byShard.set(row.shardId, []).get(row.shardId)!).push(row.transactionId);
    }
    for (const [shard, ids] of byShard) for (const id of outOfPlace(ids, expect.logOrder.get(shard)!)) reordered.add(id);
  }

  if (expect.keyOrder) {
    for (const want of expect.keyOrder.values()) {
      const got = want.filter((id) => first.has(id)).sort((a, b) => {
        const x = first.get(a)!;
        const y = first.get(b)!;
        return x.shardId === y.shardId ? compareSequence(x.sequenceNumber, y.sequenceNumber) : x.shardId < y.shardId ? -1 : 1;
      });
      for (const id of outOfPlace(got, want)) reordered.add(id);
    }
  }

  return {
    lost: [...expect.acknowledged].filter((id) => !counts.has(id)).sort(),
    doubled: [...counts].filter(([, n]) => n > 1).map(([id]) => id).sort(),
    unknown: [...counts.keys()].filter((id) => !expect.sent.has(id)).sort(),
    reordered: [...reordered].sort(),
    rows: rows.length,
  };
}

function compareSequence(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The ids of `got` not on a longest run of `got` that keeps the order of `want` (ids of `got` absent from `want`
 * are ignored): moving just those restores `want`'s order, and no smaller set does.
 */
export function outOfPlace(got: readonly string[], want: readonly string[]): string[] {
  const rank = new Map(want.map((id, i) => [id, i]));
  const items = got.filter((id) => rank.has(id));
  const ranks = items.map((id) => rank.get(id)!);
  // Longest strictly increasing subsequence of ranks (patience sorting), keeping back-links to recover it.
  const tails: number[] = []; // index into `ranks` of the smallest tail of a run of each length
  const previous = new Array<number>(ranks.length).fill(-1);
  for (let i = 0; i < ranks.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ranks[tails[mid]!]! < ranks[i]!) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const kept = new Set<number>();
  for (let i = tails.length > 0 ? tails[tails.length - 1]! : -1; i >= 0; i = previous[i]!) kept.add(i);
  return items.filter((_, i) => !kept.has(i));
}

export interface OnceVerdict {
  /** Expected keys never seen. */
  readonly missing: readonly string[];
  /** Keys seen more than once. */
  readonly doubled: readonly string[];
  /** Keys seen that were not expected. */
  readonly unexpected: readonly string[];
}

/**
 * Whether each key of `expected` was seen exactly once in `seen`, e.g. the breach notifications of every node's
 * inbox together (a notification relayed by two nodes is then doubled), or the station alerts of the alert stream.
 */
export function judgeOnce(expected: Iterable<string>, seen: Iterable<string>): OnceVerdict {
  const want = new Set(expected);
  const counts = new Map<string, number>();
  for (const key of seen) counts.set(key, (counts.get(key) ?? 0) + 1);
  return {
    missing: [...want].filter((key) => !counts.has(key)).sort(),
    doubled: [...counts].filter(([, n]) => n > 1).map(([key]) => key).sort(),
    unexpected: [...counts.keys()].filter((key) => !want.has(key)).sort(),
  };
}
