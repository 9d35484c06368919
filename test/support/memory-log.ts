/**
 * A small in-memory `StreamLog` for gateway unit tests that need no disk. Not a backend: no retention,
 * no durability, dedupe only by idempotency key. Integration tests use the real embedded log.
 */
import crypto from 'node:crypto';
import { TollstreamError } from '../../src/core/errors.ts';
import type {
  AppendRecord,
  AppendResult,
  LogStats,
  ReadLimits,
  ReadResult,
  ShardDescription,
  StartPosition,
  StoredRecord,
  StreamConfig,
  StreamDescription,
  StreamLog,
  StreamSummary,
  Subscription,
} from '../../src/log/types.ts';

const MAX_HASH = (1n << 128n) - 1n;

interface MemoryShard {
  description: ShardDescription;
  start: bigint;
  end: bigint;
  records: StoredRecord[];
  closed: boolean;
  bytesIn: number;
}

interface MemoryStream {
  name: string;
  createdAt: number;
  retentionHours: number;
  retentionBytes?: number;
  shards: MemoryShard[];
  nextSequence: bigint;
  nextShardIndex: number;
  keys: Map<string, { shardId: string; sequenceNumber: string }>;
}

export function createMemoryLog(): StreamLog {
  const streams = new Map<string, MemoryStream>();
  const waiters = new Set<() => void>();
  let closed = false;

  const stream = (name: string): MemoryStream => {
    if (closed) throw new TollstreamError('LOG_CLOSED', 'the log is closed');
    const s = streams.get(name);
    if (!s) throw new TollstreamError('STREAM_NOT_FOUND', `stream '${name}' does not exist`, { context: { stream: name } });
    return s;
  };
  const shard = (s: MemoryStream, shardId: string): MemoryShard => {
    const sh = s.shards.find((x) => x.description.shardId === shardId);
    if (!sh) throw new TollstreamError('SHARD_NOT_FOUND', `shard '${shardId}' does not exist in '${s.name}'`, { context: { stream: s.name, shardId } });
    return sh;
  };
  const seq = (s: MemoryStream): string => (s.nextSequence++).toString().padStart(24, '0');
  const addShards = (s: MemoryStream, count: number, parents: MemoryShard[]): void => {
    const width = (MAX_HASH + 1n) / BigInt(count);
    for (let i = 0; i < count; i++) {
      const start = width * BigInt(i);
      const end = i === count - 1 ? MAX_HASH : start + width - 1n;
      const parentIds = parents.filter((p) => p.start <= end && p.end >= start).map((p) => p.description.shardId);
      s.shards.push({
        start,
        end,
        records: [],
        closed: false,
        bytesIn: 0,
        description: {
          shardId: `shardId-${String(s.nextShardIndex++).padStart(12, '0')}`,
          hashKeyRange: { startingHashKey: start.toString(), endingHashKey: end.toString() },
          parentShardIds: parentIds,
          startingSequenceNumber: seq(s),
        },
      });
    }
  };
  const describe = (s: MemoryStream): StreamDescription => ({
    name: s.name,
    status: 'ACTIVE',
    createdAt: s.createdAt,
    retentionHours: s.retentionHours,
    ...(s.retentionBytes !== undefined ? { retentionBytes: s.retentionBytes } : {}),
    shards: s.shards.map((x) => x.description),
    openShardCount: s.shards.filter((x) => !x.closed).length,
  });
  const indexOf = (sh: MemoryShard, from: StartPosition): number => {
    switch (from.type) {
      case 'TRIM_HORIZON':
        return 0;
      case 'LATEST':
        return sh.records.length;
      case 'AT_SEQUENCE_NUMBER':
      case 'AFTER_SEQUENCE_NUMBER': {
        const target = BigInt(from.sequenceNumber);
        const i = sh.records.findIndex((r) => BigInt(r.sequenceNumber) >= target);
        if (i < 0) return sh.records.length;
        const exact = BigInt(sh.records[i]!.sequenceNumber) === target;
        return from.type === 'AFTER_SEQUENCE_NUMBER' && exact ? i + 1 : i;
      }
      case 'AT_TIMESTAMP': {
        const i = sh.records.findIndex((r) => r.arrivalTime >= from.timestamp);
        return i < 0 ? sh.records.length : i;
      }
    }
  };
  const readShard = (s: MemoryStream, sh: MemoryShard, from: StartPosition, limits: ReadLimits = {}): ReadResult => {
    const start = indexOf(sh, from);
    const maxRecords = limits.maxRecords ?? 10_000;
    const maxBytes = limits.maxBytes ?? 10 * 1024 * 1024;
    const out: StoredRecord[] = [];
    let bytes = 0;
    for (let i = start; i < sh.records.length && out.length < maxRecords; i++) {
      const r = sh.records[i]!;
      if (out.length > 0 && bytes + r.data.length > maxBytes) break;
      out.push(r);
      bytes += r.data.length;
    }
    const end = start + out.length;
    const last = end > 0 ? sh.records[end - 1] : undefined;
    const atEnd = end >= sh.records.length;
    if (sh.closed && atEnd) {
      const children = s.shards.filter((x) => x.description.parentShardIds.includes(sh.description.shardId)).map((x) => x.description.shardId);
      return { records: out, next: null, millisBehindLatest: 0, childShardIds: children };
    }
    const newest = sh.records[sh.records.length - 1];
    return {
      records: out,
      next: last ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber } : start === 0 ? { type: 'TRIM_HORIZON' } : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: sh.records[start - 1]!.sequenceNumber },
      millisBehindLatest: atEnd || !newest ? 0 : Math.max(0, newest.arrivalTime - (last?.arrivalTime ?? newest.arrivalTime)),
    };
  };

  return {
    async createStream(name: string, config: StreamConfig = {}) {
      if (closed) throw new TollstreamError('LOG_CLOSED', 'the log is closed');
      if (streams.has(name)) throw new TollstreamError('STREAM_EXISTS', `stream '${name}' already exists`, { context: { stream: name } });
      const s: MemoryStream = {
        name,
        createdAt: Date.now(),
        retentionHours: config.retentionHours ?? 24,
        ...(config.retentionBytes !== undefined ? { retentionBytes: config.retentionBytes } : {}),
        shards: [],
        nextSequence: 1n,
        nextShardIndex: 0,
        keys: new Map(),
      };
      addShards(s, config.shardCount ?? 1, []);
      streams.set(name, s);
      return describe(s);
    },
    async deleteStream(name: string) {
      stream(name);
      streams.delete(name);
    },
    async listStreams(): Promise<readonly StreamSummary[]> {
      return [...streams.values()].map((s) => ({ name: s.name, status: 'ACTIVE', openShardCount: describe(s).openShardCount, createdAt: s.createdAt }));
    },
    async describeStream(name: string) {
      return describe(stream(name));
    },
    async updateShardCount(name: string, target: number) {
      const s = stream(name);
      const open = s.shards.filter((x) => !x.closed);
      if (!Number.isInteger(target) || target < Math.ceil(open.length / 2) || target > open.length * 2) {
        throw new TollstreamError('INVALID_ARGUMENT', `target shard count ${target} must be between half and double the ${open.length} open shards`);
      }
      for (const sh of open) {
        sh.closed = true;
        sh.description = { ...sh.description, endingSequenceNumber: seq(s) };
      }
      addShards(s, target, open);
      for (const w of [...waiters]) w();
      return describe(s);
    },
    async updateRetention(name: string, retention: { retentionHours?: number; retentionBytes?: number | null }) {
      const s = stream(name);
      if (retention.retentionHours !== undefined) s.retentionHours = retention.retentionHours;
      if (retention.retentionBytes === null) delete s.retentionBytes;
      else if (retention.retentionBytes !== undefined) s.retentionBytes = retention.retentionBytes;
      return describe(s);
    },
    async append(name: string, records: readonly AppendRecord[]): Promise<readonly AppendResult[]> {
      const s = stream(name);
      const now = Date.now();
      const results = records.map((r): AppendResult => {
        if (r.idempotencyKey !== undefined) {
          const first = s.keys.get(r.idempotencyKey);
          if (first) return { ok: true, ...first, duplicate: true };
        }
        const hash = r.explicitHashKey !== undefined ? BigInt(r.explicitHashKey) : BigInt('0x' + crypto.createHash('md5').update(r.partitionKey).digest('hex'));
        const sh = s.shards.find((x) => !x.closed && x.start <= hash && hash <= x.end)!;
        const stored: StoredRecord = {
          sequenceNumber: seq(s),
          partitionKey: r.partitionKey,
          data: r.data,
          arrivalTime: now,
          ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}),
        };
        sh.records.push(stored);
        sh.bytesIn += r.data.length;
        const result = { shardId: sh.description.shardId, sequenceNumber: stored.sequenceNumber };
        if (r.idempotencyKey !== undefined) s.keys.set(r.idempotencyKey, result);
        return { ok: true, ...result, duplicate: false };
      });
      for (const w of [...waiters]) w();
      return results;
    },
    async read(name: string, shardId: string, from: StartPosition, limits?: ReadLimits) {
      const s = stream(name);
      return readShard(s, shard(s, shardId), from, limits);
    },
    subscribe(name: string, shardId: string, from: StartPosition, options: ReadLimits & { signal?: AbortSignal } = {}): Subscription {
      const s = stream(name);
      const sh = shard(s, shardId);
      let position: StartPosition | null = from.type === 'LATEST' ? readShard(s, sh, from).next : from;
      let done = false;
      let wake: (() => void) | undefined;
      const stop = () => {
        done = true;
        wake?.();
      };
      options.signal?.addEventListener('abort', stop, { once: true });
      return {
        close: stop,
        async *[Symbol.asyncIterator]() {
          while (!done && position !== null) {
            const result = readShard(s, sh, position, options);
            if (result.records.length > 0 || result.next === null) {
              position = result.next;
              yield result;
              continue;
            }
            await new Promise<void>((resolve) => {
              wake = () => {
                waiters.delete(wake!);
                resolve();
              };
              waiters.add(wake);
            });
          }
        },
      };
    },
    stats(): LogStats {
      const shards = [...streams.values()].flatMap((s) =>
        s.shards.map((sh) => ({
          stream: s.name,
          shardId: sh.description.shardId,
          recordsIn: sh.records.length,
          bytesIn: sh.bytesIn,
          duplicatesDropped: 0,
          storedBytes: sh.bytesIn,
        })),
      );
      return { shards, fsyncDurationsMs: [] };
    },
    async close() {
      closed = true;
      for (const w of [...waiters]) w();
    },
  };
}
