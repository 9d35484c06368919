/**
 * Reads a whole stream back through the Kinesis API (ListShards, GetShardIterator TRIM_HORIZON, GetRecords
 * until caught up) and checks it against the producers' ledgers.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { LedgerEntry } from './producer.ts';

export interface ReadBackRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
}

export async function readWholeStream(client: KinesisClient, stream: string): Promise<ReadBackRecord[]> {
  const shardIds: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: stream }),
    );
    for (const shard of page.Shards ?? []) if (shard.ShardId) shardIds.push(shard.ShardId);
    nextToken = page.NextToken;
  } while (nextToken);

  const out: ReadBackRecord[] = [];
  for (const shardId of shardIds) {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    let iterator = ShardIterator;
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) {
        out.push({ shardId, sequenceNumber: r.SequenceNumber!, partitionKey: r.PartitionKey!, data: r.Data! });
      }
      // Producers are paused while we read, so an empty page at the tip means the shard is read to its end.
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

export interface VerifyOptions {
  /** True for a deduplicated stream: no record may appear twice, retried or not. */
  readonly deduped: boolean;
  /** Stop listing problems after this many. @default 20 */
  readonly maxProblems?: number;
}

export interface VerifyOutcome {
  readonly recordsRead: number;
  readonly acknowledged: number;
  /** Copies beyond the first of records that a producer sent more than once (allowed without dedupe). */
  readonly retryDuplicates: number;
  readonly problems: readonly string[];
}

/**
 * Every acknowledged record is present; per (producer, partition key) the counters appear in increasing order
 * of first appearance (a record that PutRecords reported failed may come late: Kinesis does not keep order
 * across a retry of a failed record); a record appears at most once per request that may have stored it,
 * and at most once at all in a deduplicated stream.
 */
export function verifyAgainstLedger(
  records: readonly ReadBackRecord[],
  ledger: ReadonlyMap<string, LedgerEntry>,
  options: VerifyOptions,
): VerifyOutcome {
  const maxProblems = options.maxProblems ?? 20;
  const problems: string[] = [];
  const report = (problem: string) => {
    if (problems.length < maxProblems) problems.push(problem);
  };
  const copies = new Map<string, number>();
  const highestCounter = new Map<string, number>();

  const ordered = [...records].sort((a, b) =>
    a.shardId === b.shardId ? compareSequence(a.sequenceNumber, b.sequenceNumber) : a.shardId < b.shardId ? -1 : 1,
  );
  for (const record of ordered) {
    let body: { transaction_id?: unknown };
    try {
      body = JSON.parse(Buffer.from(record.data).toString('utf8')) as { transaction_id?: unknown };
    } catch {
      report(`${record.shardId}/${record.sequenceNumber}: data is not the JSON a producer sent`);
      continue;
    }
    const entry = typeof body.transaction_id === 'string' ? ledger.get(body.transaction_id) : undefined;
    if (!entry) {
      report(`${record.shardId}/${record.sequenceNumber}: record ${String(body.transaction_id)} was never sent`);
      continue;
    }
    if (record.partitionKey !== entry.partitionKey) {
      report(`${entry.id}: read back with partition key '${record.partitionKey}', sent with '${entry.partitionKey}'`);
    }
    if (Buffer.compare(Buffer.from(record.data), Buffer.from(entry.data)) !== 0) {
      report(`${entry.id}: data read back differs from the bytes sent`);
    }
    const seen = (copies.get(entry.id) ?? 0) + 1;
    copies.set(entry.id, seen);
    if (seen > 1) continue;
    const orderKey = `${entry.producer}/${entry.partitionKey}`;
    const highest = highestCounter.get(orderKey) ?? -1;
    if (entry.counter < highest && entry.explicitFailures === 0) {
      report(`${entry.id}: counter ${entry.counter} of producer ${entry.producer} key '${entry.partitionKey}' appears after counter ${highest}`);
    }
    highestCounter.set(orderKey, Math.max(highest, entry.counter));
  }

  let acknowledged = 0;
  let retryDuplicates = 0;
  for (const entry of ledger.values()) {
    const seen = copies.get(entry.id) ?? 0;
    if (entry.acknowledged) {
      acknowledged++;
      if (seen === 0) report(`${entry.id}: acknowledged but missing`);
    }
    if (seen > 0 && entry.attempts === 0) {
      report(`${entry.id}: present, but no request that could have stored it was ever made`);
    }
    if (seen > 1) {
      const allowed = options.deduped ? 1 : entry.attempts;
      if (seen > allowed) {
        report(`${entry.id}: appears ${seen} times, but was sent in only ${entry.attempts} request(s) that could have stored it` +
          (options.deduped ? ' and the stream deduplicates' : ''));
      } else {
        retryDuplicates += seen - 1;
      }
    }
  }
  return { recordsRead: records.length, acknowledged, retryDuplicates, problems };
}

/** Sequence numbers are decimal strings; compare them as big integers (width may differ across streams). */
function compareSequence(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
