/**
 * The conformance suite of the `StreamLog` contract: every backend runs it from one of its test files,
 *
 *   describeStreamLogConformance('embedded', async () => ({ log, reopen, cleanup, ... }), { ... });
 *
 * It asserts only behaviour a caller can observe through the interface. Capabilities a backend may lack
 * (a controllable clock, on-demand retention) are declared up front, and the tests needing them are then
 * not defined at all (rather than skipped).
 *
 * This file imports vitest, so it is a door for test files only and is not re-exported by `index.ts`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import { hashKeyOf, MAX_HASH_KEY } from './hashkey.ts';
import { compareSequenceNumbers } from './sequence.ts';
import type { AppendRecord, ReadResult, StartPosition, StoredRecord, StreamConfig, StreamLog } from './types.ts';

export interface StreamLogHarness {
  readonly log: StreamLog;
  /** Closes `log` and opens the backend again over the same storage; later tests use the returned log. */
  reopen(): Promise<StreamLog>;
  /** Moves the backend's clock forward (needs `capabilities.clock`). */
  advanceClock?(ms: number): void;
  /** Applies retention now (needs `capabilities.retention`). */
  enforceRetention?(): Promise<void>;
  /** Closes whatever is open and removes the storage. */
  cleanup(): Promise<void>;
}

export interface ConformanceCapabilities {
  /** `advanceClock` moves the time the backend stamps on records and compares (arrival times, dedupe windows). */
  readonly clock?: boolean;
  /**
   * Retention by time follows `advanceClock` too (needs `clock` and `retention`): the backend ages records
   * itself. A backend whose storage engine expires records on its own clock (JetStream's `max_age`) cannot.
   */
  readonly clockRetention?: boolean;
  /**
   * `enforceRetention` is provided, and writing `retentionBytes * 4` bytes of records into a stream with
   * that `retentionBytes` reclaims some of the oldest (the backend's segments are small enough).
   */
  readonly retention?: { readonly retentionBytes: number };
}

const enc = (s: string) => Buffer.from(s, 'utf8');
const text = (r: StoredRecord) => Buffer.from(r.data).toString('utf8');

async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (!isTollstreamError(err, code)) throw new Error(`expected ${code}, got ${String((err as { code?: unknown })?.code ?? err)}`, { cause: err });
    return;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

/** Reads a shard from `from` to its current end (or, for a closed shard, its end), in small batches. */
async function readAll(log: StreamLog, stream: string, shardId: string, from: StartPosition = { type: 'TRIM_HORIZON' }, maxRecords = 7): Promise<{ records: StoredRecord[]; last: ReadResult }> {
  const records: StoredRecord[] = [];
  let position: StartPosition | null = from;
  let last: ReadResult | undefined;
  for (let guard = 0; position && guard < 10_000; guard++) {
    last = await log.read(stream, shardId, position, { maxRecords });
    records.push(...last.records);
    if (last.records.length === 0) break;
    position = last.next;
  }
  return { records, last: last! };
}

function records(n: number, prefix = 'r', key = (i: number) => `pk-${i}`): AppendRecord[] {
  return Array.from({ length: n }, (_, i) => ({ partitionKey: key(i), data: enc(`${prefix}${i}`) }));
}

export function describeStreamLogConformance(name: string, factory: () => Promise<StreamLogHarness>, capabilities: ConformanceCapabilities = {}): void {
  describe(`StreamLog conformance: ${name}`, () => {
    let h: StreamLogHarness;
    let log: StreamLog;
    let reopen: () => Promise<void>;

    beforeEach(async () => {
      h = await factory();
      log = h.log;
      reopen = async () => {
        log = await h.reopen();
      };
    });
    afterEach(async () => {
      await h.cleanup();
    });

    async function create(stream: string, config: StreamConfig = {}) {
      return log.createStream(stream, config);
    }

    describe('streams', () => {
      it('creates a stream whose shards split the hash key space uniformly', async () => {
        const d = await create('tolls', { shardCount: 3, retentionHours: 48 });
        expect(d.name).toBe('tolls');
        expect(d.retentionHours).toBe(48);
        expect(d.openShardCount).toBe(3);
        expect(d.shards.map((s) => s.shardId)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']);
        expect(BigInt(d.shards[0]!.hashKeyRange.startingHashKey)).toBe(0n);
        expect(BigInt(d.shards[2]!.hashKeyRange.endingHashKey)).toBe(MAX_HASH_KEY);
        for (let i = 1; i < 3; i++) {
          expect(BigInt(d.shards[i]!.hashKeyRange.startingHashKey)).toBe(BigInt(d.shards[i - 1]!.hashKeyRange.endingHashKey) + 1n);
        }
        const size0 = BigInt(d.shards[0]!.hashKeyRange.endingHashKey) + 1n;
        expect(size0).toBe((MAX_HASH_KEY + 1n) / 3n);
        for (const s of d.shards) {
          expect(s.parentShardIds).toEqual([]);
          expect(s.endingSequenceNumber).toBeUndefined();
        }
        expect((await log.describeStream('tolls')).shards).toEqual(d.shards);
      });

      it('lists streams, refuses duplicates and forgets deleted streams', async () => {
        await create('b');
        await create('a', { shardCount: 2 });
        expect((await log.listStreams()).map((s) => [s.name, s.openShardCount])).toEqual([
          ['a', 2],
          ['b', 1],
        ]);
        await expectCode(create('a'), 'STREAM_EXISTS');
        await log.append('a', records(3));
        await log.deleteStream('a');
        expect((await log.listStreams()).map((s) => s.name)).toEqual(['b']);
        await expectCode(log.describeStream('a'), 'STREAM_NOT_FOUND');
        await expectCode(log.append('a', records(1)), 'STREAM_NOT_FOUND');
        await expectCode(log.read('a', 'shardId-000000000000', { type: 'TRIM_HORIZON' }), 'STREAM_NOT_FOUND');
        await expectCode(log.deleteStream('a'), 'STREAM_NOT_FOUND');
        const again = await create('a');
        const { records: rs } = await readAll(log, 'a', again.shards[0]!.shardId);
        expect(rs).toEqual([]);
      });

      it('rejects bad names and configurations', async () => {
        await expectCode(create('bad/name'), 'INVALID_ARGUMENT');
        await expectCode(create(''), 'INVALID_ARGUMENT');
        await expectCode(create('s', { shardCount: 0 }), 'INVALID_ARGUMENT');
        await expectCode(create('s', { retentionHours: 0 }), 'INVALID_ARGUMENT');
        await expectCode(create('s', { dedupe: { mode: 'field' } }), 'INVALID_ARGUMENT');
        expect(await log.listStreams()).toEqual([]);
      });

      it('keeps tags given at create, sets and removes them durably, and bounds them', async () => {
        const d = await create('tagged', { tags: { owner: 'ops', tier: 'gold' } });
        expect(d.tags).toEqual({ owner: 'ops', tier: 'gold' });
        expect((await create('plain')).tags).toBeUndefined();
        const changed = await log.updateTags('tagged', { set: { tier: 'silver', team: 'tolls' }, remove: ['owner', 'absent'] });
        expect(changed.tags).toEqual({ tier: 'silver', team: 'tolls' });
        await reopen();
        expect((await log.describeStream('tagged')).tags).toEqual({ tier: 'silver', team: 'tolls' });
        expect((await log.updateTags('tagged', { remove: ['tier', 'team'] })).tags).toBeUndefined();

        const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, String(i)]));
        await log.updateTags('tagged', { set: fifty });
        await expectCode(log.updateTags('tagged', { set: { one: 'more' } }), 'INVALID_ARGUMENT');
        expect(Object.keys((await log.describeStream('tagged')).tags ?? {})).toHaveLength(50);
        // Replacing a value does not add a tag.
        expect((await log.updateTags('tagged', { set: { k0: 'zero' } })).tags?.k0).toBe('zero');
        await expectCode(log.updateTags('tagged', { set: { k1: 7 as unknown as string } }), 'INVALID_ARGUMENT');
        await expectCode(create('too-many', { tags: { ...fifty, extra: 'x' } }), 'INVALID_ARGUMENT');
        await expectCode(log.updateTags('missing', { set: { a: 'b' } }), 'STREAM_NOT_FOUND');
      });

      it('registers and deregisters consumers durably, bounds them, and drops them with the stream', async () => {
        await create('fan');
        expect((await log.describeStream('fan')).consumers).toBeUndefined();
        const a = await log.registerConsumer('fan', 'app-a');
        expect(a.name).toBe('app-a');
        expect(typeof a.createdAt).toBe('number');
        await log.registerConsumer('fan', 'app.b_2');
        await expectCode(log.registerConsumer('fan', 'app-a'), 'CONSUMER_EXISTS');
        await expectCode(log.registerConsumer('fan', 'bad name'), 'INVALID_ARGUMENT');
        await expectCode(log.registerConsumer('fan', ''), 'INVALID_ARGUMENT');
        await expectCode(log.registerConsumer('missing', 'x'), 'STREAM_NOT_FOUND');
        await reopen();
        expect((await log.describeStream('fan')).consumers).toEqual([a, { name: 'app.b_2', createdAt: expect.any(Number) }]);
        await log.deregisterConsumer('fan', 'app-a');
        await expectCode(log.deregisterConsumer('fan', 'app-a'), 'NOT_FOUND');
        await reopen();
        expect((await log.describeStream('fan')).consumers?.map((c) => c.name)).toEqual(['app.b_2']);
        await log.deregisterConsumer('fan', 'app.b_2');
        expect((await log.describeStream('fan')).consumers).toBeUndefined();

        for (let i = 0; i < 20; i++) await log.registerConsumer('fan', `c${i}`);
        await expectCode(log.registerConsumer('fan', 'c20'), 'LIMIT_EXCEEDED');
        expect((await log.describeStream('fan')).consumers).toHaveLength(20);
        await log.deleteStream('fan');
        await create('fan');
        expect((await log.describeStream('fan')).consumers).toBeUndefined();
      });

      it('records the stream mode at create and on change, durably', async () => {
        expect((await create('prov')).mode).toBe('provisioned');
        expect((await create('od', { mode: 'on-demand', shardCount: 4 })).mode).toBe('on-demand');
        expect((await log.listStreams()).map((s) => [s.name, s.mode])).toEqual([['od', 'on-demand'], ['prov', 'provisioned']]);
        expect((await log.updateStreamMode('prov', 'on-demand')).mode).toBe('on-demand');
        expect((await log.updateStreamMode('od', 'provisioned')).mode).toBe('provisioned');
        await reopen();
        expect((await log.describeStream('prov')).mode).toBe('on-demand');
        expect((await log.describeStream('od')).mode).toBe('provisioned');
        expect((await log.describeStream('od')).openShardCount).toBe(4);
        await expectCode(log.updateStreamMode('od', 'ON_DEMAND' as never), 'INVALID_ARGUMENT');
        await expectCode(create('bad', { mode: 'elastic' as never }), 'INVALID_ARGUMENT');
        await expectCode(log.updateStreamMode('missing', 'provisioned'), 'STREAM_NOT_FOUND');
      });

      it('updates retention', async () => {
        await create('s');
        const d = await log.updateRetention('s', { retentionHours: 72, retentionBytes: 1_000_000 });
        expect(d.retentionHours).toBe(72);
        expect(d.retentionBytes).toBe(1_000_000);
        const cleared = await log.updateRetention('s', { retentionBytes: null });
        expect(cleared.retentionBytes).toBeUndefined();
        expect(cleared.retentionHours).toBe(72);
      });

      it('reports itself healthy and reachable while it works, also after a reopen', async () => {
        await create('s');
        await log.append('s', [{ partitionKey: 'k', data: new TextEncoder().encode('x') }]);
        expect(log.health?.()).toEqual({ failedShards: [], reachable: true });
        await reopen();
        expect(log.health?.()).toEqual({ failedShards: [], reachable: true });
      });
    });

    describe('append and read', () => {
      it('routes each record to the shard owning the MD5 of its partition key, or its explicit hash key', async () => {
        const d = await create('s', { shardCount: 4 });
        const input = records(40);
        input.push({ partitionKey: 'any', explicitHashKey: '0', data: enc('first-shard') });
        input.push({ partitionKey: 'any', explicitHashKey: MAX_HASH_KEY.toString(), data: enc('last-shard') });
        const results = await log.append('s', input);
        const owner = (key: bigint) => d.shards.find((s) => BigInt(s.hashKeyRange.startingHashKey) <= key && key <= BigInt(s.hashKeyRange.endingHashKey))!.shardId;
        results.forEach((r, i) => {
          expect(r.ok).toBe(true);
          const rec = input[i]!;
          const key = rec.explicitHashKey !== undefined ? BigInt(rec.explicitHashKey) : hashKeyOf(rec.partitionKey);
          if (r.ok) expect(r.shardId).toBe(owner(key));
        });
        expect(results[40]).toMatchObject({ shardId: 'shardId-000000000000' });
        expect(results[41]).toMatchObject({ shardId: 'shardId-000000000003' });
        const { records: last } = await readAll(log, 's', 'shardId-000000000003');
        expect(last.find((r) => text(r) === 'last-shard')?.explicitHashKey).toBe(MAX_HASH_KEY.toString());
      });

      it('keeps order, gives increasing fixed-width sequence numbers and returns the data', async () => {
        await create('s');
        const before = Date.now();
        const a = await log.append('s', records(5, 'a'));
        const b = await log.append('s', records(5, 'b'));
        const after = Date.now();
        const seqs = [...a, ...b].map((r) => (r.ok ? r.sequenceNumber : ''));
        for (let i = 1; i < seqs.length; i++) {
          expect(seqs[i]!.length).toBe(seqs[0]!.length);
          expect(seqs[i]! > seqs[i - 1]!).toBe(true);
          expect(BigInt(seqs[i]!) > BigInt(seqs[i - 1]!)).toBe(true);
          expect(compareSequenceNumbers(seqs[i - 1]!, seqs[i]!)).toBe(-1);
        }
        const { records: rs } = await readAll(log, 's', 'shardId-000000000000');
        expect(rs.map(text)).toEqual([...records(5, 'a'), ...records(5, 'b')].map((r) => Buffer.from(r.data).toString()));
        expect(rs.map((r) => r.sequenceNumber)).toEqual(seqs);
        expect(rs.map((r) => r.partitionKey)).toEqual([...records(5), ...records(5)].map((r) => r.partitionKey));
        for (const r of rs) {
          expect(r.arrivalTime).toBeGreaterThanOrEqual(before - 1000);
          expect(r.arrivalTime).toBeLessThanOrEqual(after + 1000);
        }
        for (let i = 1; i < rs.length; i++) expect(rs[i]!.arrivalTime).toBeGreaterThanOrEqual(rs[i - 1]!.arrivalTime);
      });

      it('starts reads at every kind of position', async () => {
        await create('s');
        const res = await log.append('s', records(10));
        const seq = (i: number) => (res[i]!.ok ? res[i]!.sequenceNumber : '');
        const shard = 'shardId-000000000000';
        const from = async (p: StartPosition) => (await readAll(log, 's', shard, p)).records.map(text);
        expect(await from({ type: 'TRIM_HORIZON' })).toEqual(records(10).map((r) => Buffer.from(r.data).toString()));
        expect(await from({ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(3) })).toEqual(['r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
        expect(await from({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(3) })).toEqual(['r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
        expect(await from({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(9) })).toEqual([]);
        const latest = await log.read('s', shard, { type: 'LATEST' });
        expect(latest.records).toEqual([]);
        expect(latest.millisBehindLatest).toBe(0);
        await log.append('s', records(2, 'late'));
        expect((await readAll(log, 's', shard, latest.next!)).records.map(text)).toEqual(['late0', 'late1']);
        const all = (await readAll(log, 's', shard)).records;
        expect((await from({ type: 'AT_TIMESTAMP', timestamp: all[4]!.arrivalTime }))[0]).toBe(text(all.find((r) => r.arrivalTime >= all[4]!.arrivalTime)!));
        expect(await from({ type: 'AT_TIMESTAMP', timestamp: 0 })).toHaveLength(12);
        expect(await from({ type: 'AT_TIMESTAMP', timestamp: all[11]!.arrivalTime + 3_600_000 })).toEqual([]);
      });

      if (capabilities.clock) it('finds records by timestamp across appends made at different times', async () => {
        await create('s');
        await log.append('s', records(3, 'old'));
        h.advanceClock!(60_000);
        await log.append('s', records(3, 'new'));
        const all = (await readAll(log, 's', 'shardId-000000000000')).records;
        const t = all[3]!.arrivalTime;
        expect(t - all[2]!.arrivalTime).toBeGreaterThanOrEqual(60_000);
        const { records: rs } = await readAll(log, 's', 'shardId-000000000000', { type: 'AT_TIMESTAMP', timestamp: t - 30_000 });
        expect(rs.map(text)).toEqual(['new0', 'new1', 'new2']);
      });

      it('bounds reads by records and bytes, returning at least one record', async () => {
        await create('s');
        await log.append('s', [
          { partitionKey: 'k', data: Buffer.alloc(3000, 1) },
          { partitionKey: 'k', data: Buffer.alloc(3000, 2) },
          ...records(10),
        ]);
        const shard = 'shardId-000000000000';
        const one = await log.read('s', shard, { type: 'TRIM_HORIZON' }, { maxBytes: 100 });
        expect(one.records).toHaveLength(1);
        expect(one.records[0]!.data.length).toBe(3000);
        const two = await log.read('s', shard, one.next!, { maxBytes: 3001 });
        expect(two.records).toHaveLength(1);
        expect(two.records[0]!.data[0]).toBe(2);
        const three = await log.read('s', shard, two.next!, { maxRecords: 4 });
        expect(three.records.map(text)).toEqual(['r0', 'r1', 'r2', 'r3']);
        expect(three.millisBehindLatest).toBeGreaterThanOrEqual(0);
        const rest = await log.read('s', shard, three.next!);
        expect(rest.records).toHaveLength(6);
        expect(rest.millisBehindLatest).toBe(0);
        await expectCode(log.read('s', shard, { type: 'TRIM_HORIZON' }, { maxRecords: 0 }), 'INVALID_ARGUMENT');
      });

      it('acknowledges many concurrent appends, each stored once and in per-shard order', async () => {
        await create('s', { shardCount: 2 });
        const calls = Array.from({ length: 20 }, (_, c) => log.append('s', records(25, `c${c}-`, (i) => `k${c}-${i}`)));
        const results = (await Promise.all(calls)).flat();
        expect(results.every((r) => r.ok && !r.duplicate)).toBe(true);
        let total = 0;
        for (const shardId of ['shardId-000000000000', 'shardId-000000000001']) {
          const { records: rs } = await readAll(log, 's', shardId, { type: 'TRIM_HORIZON' }, 100);
          total += rs.length;
          for (let i = 1; i < rs.length; i++) expect(rs[i]!.sequenceNumber > rs[i - 1]!.sequenceNumber).toBe(true);
          // Records of one call keep their order within the shard.
          const byCall = new Map<string, number[]>();
          for (const r of rs) {
            const [c, i] = text(r).split('-');
            byCall.set(c!, [...(byCall.get(c!) ?? []), Number(i)]);
          }
          for (const list of byCall.values()) expect(list).toEqual([...list].sort((x, y) => x - y));
        }
        expect(total).toBe(500);
        const stats = log.stats();
        expect(stats.shards.filter((s) => s.stream === 's').reduce((n, s) => n + s.recordsIn, 0)).toBe(500);
      });

      it('rejects bad records, shards and positions with their error codes', async () => {
        await create('s');
        const shard = 'shardId-000000000000';
        await expectCode(log.append('s', [{ partitionKey: '', data: enc('x') }]), 'INVALID_ARGUMENT');
        await expectCode(log.append('s', [{ partitionKey: 'k'.repeat(257), data: enc('x') }]), 'INVALID_ARGUMENT');
        await expectCode(log.append('s', [{ partitionKey: 'k', data: Buffer.alloc(1024 * 1024 + 1) }]), 'INVALID_ARGUMENT');
        await expectCode(log.append('s', [{ partitionKey: 'k', explicitHashKey: '-1', data: enc('x') }]), 'INVALID_ARGUMENT');
        await expectCode(log.append('s', [{ partitionKey: 'k', explicitHashKey: (MAX_HASH_KEY + 1n).toString(), data: enc('x') }]), 'INVALID_ARGUMENT');
        expect((await readAll(log, 's', shard)).records).toEqual([]);
        await expectCode(log.read('s', 'shardId-000000000009', { type: 'TRIM_HORIZON' }), 'SHARD_NOT_FOUND');
        await expectCode(log.read('s', shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: 'not-a-number' }), 'INVALID_ARGUMENT');
        const [r] = await log.append('s', records(1));
        const seq = r!.ok ? r!.sequenceNumber : '';
        const future = (BigInt(seq) + 1000n).toString().padStart(seq.length, '0');
        await expectCode(log.read('s', shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: future }), 'SEQUENCE_NOT_FOUND');
        expect(() => log.subscribe('s', 'nope', { type: 'LATEST' })).toThrow();
      });

      it('keeps the data across a close and reopen, and continues the sequence', async () => {
        await create('s', { shardCount: 2, retentionHours: 30 });
        const first = await log.append('s', records(20));
        await reopen();
        const d = await log.describeStream('s');
        expect(d.openShardCount).toBe(2);
        expect(d.retentionHours).toBe(30);
        const second = await log.append('s', records(20, 'again'));
        let total = 0;
        for (const s of d.shards) total += (await readAll(log, 's', s.shardId)).records.length;
        expect(total).toBe(40);
        for (let i = 0; i < 20; i++) {
          const a = first[i]!;
          const b = second[i]!;
          if (a.ok && b.ok) {
            expect(b.shardId).toBe(a.shardId);
            expect(compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber)).toBe(-1);
          }
        }
      });

      it('fails calls after close with LOG_CLOSED', async () => {
        await create('s');
        await log.close();
        await expectCode(log.append('s', records(1)), 'LOG_CLOSED');
        await expectCode(log.describeStream('s'), 'LOG_CLOSED');
        await reopen();
        expect((await log.describeStream('s')).name).toBe('s');
      });
    });

    describe('subscribe', () => {
      it('yields existing records, then wakes on each append', async () => {
        await create('s');
        await log.append('s', records(3, 'old'));
        const sub = log.subscribe('s', 'shardId-000000000000', { type: 'TRIM_HORIZON' });
        const seen: string[] = [];
        const done = (async () => {
          for await (const batch of sub) {
            seen.push(...batch.records.map(text));
            if (seen.length >= 5) break;
          }
        })();
        await new Promise((r) => setTimeout(r, 20));
        await log.append('s', records(1, 'new'));
        await new Promise((r) => setTimeout(r, 20));
        await log.append('s', records(1, 'newer'));
        await done;
        expect(seen).toEqual(['old0', 'old1', 'old2', 'new0', 'newer0']);
        sub.close();
      });

      it('ends when closed or aborted while waiting', async () => {
        await create('s');
        const sub = log.subscribe('s', 'shardId-000000000000', { type: 'LATEST' });
        const it1 = sub[Symbol.asyncIterator]();
        const pending = it1.next();
        setTimeout(() => sub.close(), 20);
        expect((await pending).done).toBe(true);

        const controller = new AbortController();
        const sub2 = log.subscribe('s', 'shardId-000000000000', { type: 'LATEST' }, { signal: controller.signal });
        const pending2 = sub2[Symbol.asyncIterator]().next();
        setTimeout(() => controller.abort(), 20);
        expect((await pending2).done).toBe(true);
      });

      it('ends when the stream is deleted', async () => {
        await create('s');
        const sub = log.subscribe('s', 'shardId-000000000000', { type: 'LATEST' });
        const pending = sub[Symbol.asyncIterator]().next();
        setTimeout(() => void log.deleteStream('s'), 20);
        expect((await pending).done).toBe(true);
        sub.close();
      });
    });

    describe('resharding', () => {
      it('splits 2 shards into 4 with lineage, and reads parents before children', async () => {
        await create('s', { shardCount: 2 });
        const before = await log.append('s', records(30, 'before'));
        const d = await log.updateShardCount('s', 4);
        expect(d.openShardCount).toBe(4);
        expect(d.shards).toHaveLength(6);
        const [p0, p1, ...children] = d.shards;
        expect([p0!.shardId, p1!.shardId]).toEqual(['shardId-000000000000', 'shardId-000000000001']);
        expect(p0!.endingSequenceNumber).toBeDefined();
        expect(p1!.endingSequenceNumber).toBeDefined();
        expect(children.map((c) => c.endingSequenceNumber)).toEqual([undefined, undefined, undefined, undefined]);
        expect(children.map((c) => c.parentShardIds)).toEqual([[p0!.shardId], [p0!.shardId], [p1!.shardId], [p1!.shardId]]);
        expect(BigInt(children[3]!.hashKeyRange.endingHashKey)).toBe(MAX_HASH_KEY);

        const after = await log.append('s', records(30, 'after'));
        for (const r of after) expect(r.ok && children.some((c) => c.shardId === r.shardId)).toBe(true);

        // A parent read to its end says where to go next.
        const { records: rs, last } = await readAll(log, 's', p0!.shardId);
        expect(last.next).toBeNull();
        expect([...(last.childShardIds ?? [])].sort()).toEqual([children[0]!.shardId, children[1]!.shardId]);
        const endSeq = p0!.endingSequenceNumber!;
        for (const r of rs) expect(compareSequenceNumbers(r.sequenceNumber, endSeq)).toBeLessThanOrEqual(0);
        const inParents = before.filter((r) => r.ok && r.shardId === p0!.shardId).length;
        expect(rs).toHaveLength(inParents);
        let total = 0;
        for (const s of d.shards) total += (await readAll(log, 's', s.shardId)).records.length;
        expect(total).toBe(60);

        // A subscription to a parent ends after its last batch.
        const batches: ReadResult[] = [];
        for await (const b of log.subscribe('s', p1!.shardId, { type: 'TRIM_HORIZON' })) batches.push(b);
        expect(batches[batches.length - 1]!.next).toBeNull();
        expect(batches.flatMap((b) => b.records)).toHaveLength(30 - inParents);

        await reopen();
        const again = await log.describeStream('s');
        expect(again.shards.map((s) => [s.shardId, s.parentShardIds, s.endingSequenceNumber])).toEqual(d.shards.map((s) => [s.shardId, s.parentShardIds, s.endingSequenceNumber]));
        const more = await log.append('s', records(4, 'reopened'));
        for (const r of more) expect(r.ok && children.some((c) => c.shardId === r.shardId)).toBe(true);
      });

      it('keeps every record acknowledged while a reshard runs, each exactly once', async () => {
        await create('s', { shardCount: 2 });
        const acked: Array<{ shardId: string; sequenceNumber: string; text: string }> = [];
        const appender = async (a: number) => {
          for (let round = 0; round < 8; round++) {
            const batch = records(5, `a${a}-${round}-`, (i) => `k${a}-${round}-${i}`);
            const res = await log.append('s', batch);
            res.forEach((r, i) => {
              if (r.ok) acked.push({ shardId: r.shardId, sequenceNumber: r.sequenceNumber, text: Buffer.from(batch[i]!.data).toString() });
            });
          }
        };
        const running = Promise.all(Array.from({ length: 6 }, (_, a) => appender(a)));
        await new Promise((r) => setTimeout(r, 5));
        const d = await log.updateShardCount('s', 4);
        await running;
        expect(acked).toHaveLength(6 * 8 * 5);
        const stored = new Map<string, string>();
        for (const shard of d.shards) {
          for (const r of (await readAll(log, 's', shard.shardId, { type: 'TRIM_HORIZON' }, 50)).records) {
            const key = `${shard.shardId}/${r.sequenceNumber}`;
            expect(stored.has(key)).toBe(false);
            stored.set(key, text(r));
          }
        }
        expect(stored.size).toBe(acked.length);
        for (const a of acked) expect(stored.get(`${a.shardId}/${a.sequenceNumber}`)).toBe(a.text);
      });

      it('merges 3 shards into 2, each child naming every parent it overlaps', async () => {
        await create('s', { shardCount: 3 });
        const d = await log.updateShardCount('s', 2);
        const parents = d.shards.slice(0, 3);
        const children = d.shards.slice(3);
        expect(children).toHaveLength(2);
        expect(children[0]!.parentShardIds).toEqual([parents[0]!.shardId, parents[1]!.shardId]);
        expect(children[1]!.parentShardIds).toEqual([parents[1]!.shardId, parents[2]!.shardId]);
        const { last } = await readAll(log, 's', parents[1]!.shardId);
        expect(last.next).toBeNull();
        expect([...(last.childShardIds ?? [])].sort()).toEqual(children.map((c) => c.shardId));
      });

      it('refuses targets outside half to double the open shards', async () => {
        await create('s', { shardCount: 2 });
        await expectCode(log.updateShardCount('s', 5), 'LIMIT_EXCEEDED');
        await expectCode(log.updateShardCount('s', 0), 'INVALID_ARGUMENT');
        await expectCode(log.updateShardCount('nope', 2), 'STREAM_NOT_FOUND');
        await log.updateShardCount('s', 1);
        await expectCode(log.updateShardCount('s', 3), 'LIMIT_EXCEEDED');
      });

      it('splits one shard at a chosen hash key: each side of the key goes to its own child, the parent is read first', async () => {
        await create('s', { shardCount: 2 });
        const at = (key: bigint, text: string): AppendRecord => ({ partitionKey: 'p', explicitHashKey: key.toString(), data: enc(text) });
        const key = 1n << 125n;
        const before = await log.append('s', [at(key - 1n, 'b-low'), at(key, 'b-high')]);
        const d = await log.splitShard('s', 'shardId-000000000000', key.toString());
        expect(d.status).toBe('ACTIVE');
        expect(d.openShardCount).toBe(3);
        const [p0, p1, low, high] = d.shards;
        expect(d.shards.map((x) => x.shardId)).toEqual(['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']);
        expect(d.shards.map((x) => x.parentShardIds)).toEqual([[], [], [p0!.shardId], [p0!.shardId]]);
        expect(p0!.endingSequenceNumber).toBeDefined();
        expect([p1, low, high].map((x) => x!.endingSequenceNumber)).toEqual([undefined, undefined, undefined]);
        expect(low!.hashKeyRange).toEqual({ startingHashKey: '0', endingHashKey: (key - 1n).toString() });
        expect(high!.hashKeyRange).toEqual({ startingHashKey: key.toString(), endingHashKey: p0!.hashKeyRange.endingHashKey });
        expect(p1!.hashKeyRange.startingHashKey).toBe((BigInt(p0!.hashKeyRange.endingHashKey) + 1n).toString());

        const after = await log.append('s', [at(0n, 'a-zero'), at(key - 1n, 'a-low'), at(key, 'a-high'), at(BigInt(p0!.hashKeyRange.endingHashKey), 'a-end'), at(MAX_HASH_KEY, 'a-max')]);
        expect(after.map((r) => r.ok && r.shardId)).toEqual([low!.shardId, low!.shardId, high!.shardId, high!.shardId, p1!.shardId]);

        // The parent holds what came before and ends pointing at both children; each child holds its side since.
        const parent = await readAll(log, 's', p0!.shardId);
        expect(parent.records.map(text)).toEqual(['b-low', 'b-high']);
        expect(parent.records.map((r) => r.sequenceNumber)).toEqual(before.map((r) => r.ok && r.sequenceNumber));
        expect(parent.last.next).toBeNull();
        expect([...(parent.last.childShardIds ?? [])].sort()).toEqual([low!.shardId, high!.shardId]);
        for (const r of parent.records) expect(compareSequenceNumbers(r.sequenceNumber, p0!.endingSequenceNumber!)).toBeLessThanOrEqual(0);
        expect((await readAll(log, 's', low!.shardId)).records.map(text)).toEqual(['a-zero', 'a-low']);
        expect((await readAll(log, 's', high!.shardId)).records.map(text)).toEqual(['a-high', 'a-end']);
        for (const r of after) expect(r.ok && compareSequenceNumbers(r.sequenceNumber, p0!.endingSequenceNumber!)).toBeGreaterThan(0);

        // A follower of the parent ends with its last batch and is told where to go on.
        const batches: ReadResult[] = [];
        for await (const b of log.subscribe('s', p0!.shardId, { type: 'TRIM_HORIZON' })) batches.push(b);
        expect(batches.flatMap((b) => b.records).map(text)).toEqual(['b-low', 'b-high']);
        expect(batches[batches.length - 1]!.next).toBeNull();

        await reopen();
        const again = await log.describeStream('s');
        expect(again.shards.map((x) => [x.shardId, x.hashKeyRange, x.parentShardIds, x.endingSequenceNumber])).toEqual(
          d.shards.map((x) => [x.shardId, x.hashKeyRange, x.parentShardIds, x.endingSequenceNumber]),
        );
        const more = await log.append('s', [at(key - 1n, 'r-low'), at(key, 'r-high')]);
        expect(more.map((r) => r.ok && r.shardId)).toEqual([low!.shardId, high!.shardId]);
      });

      it('merges two adjacent shards into one child covering both ranges', async () => {
        await create('s', { shardCount: 3 });
        const at = (key: string, text: string): AppendRecord => ({ partitionKey: 'p', explicitHashKey: key, data: enc(text) });
        const [s0, s1, s2] = (await log.describeStream('s')).shards;
        await log.append('s', [at(s0!.hashKeyRange.endingHashKey, 'b0'), at(s1!.hashKeyRange.startingHashKey, 'b1')]);
        // Named the other way round: the child's first parent is the shard named first.
        const d = await log.mergeShards('s', s1!.shardId, s0!.shardId);
        expect(d.status).toBe('ACTIVE');
        expect(d.openShardCount).toBe(2);
        const child = d.shards[3]!;
        expect(d.shards).toHaveLength(4);
        expect(child.shardId).toBe('shardId-000000000003');
        expect(child.parentShardIds).toEqual([s1!.shardId, s0!.shardId]);
        expect(child.hashKeyRange).toEqual({ startingHashKey: s0!.hashKeyRange.startingHashKey, endingHashKey: s1!.hashKeyRange.endingHashKey });
        expect(d.shards[0]!.endingSequenceNumber).toBeDefined();
        expect(d.shards[1]!.endingSequenceNumber).toBeDefined();
        expect(d.shards[2]!.endingSequenceNumber).toBeUndefined();

        const after = await log.append('s', [at('0', 'a0'), at(s1!.hashKeyRange.endingHashKey, 'a1'), at(s2!.hashKeyRange.startingHashKey, 'a2')]);
        expect(after.map((r) => r.ok && r.shardId)).toEqual([child.shardId, child.shardId, s2!.shardId]);
        for (const [parent, text0] of [[s0!, 'b0'], [s1!, 'b1']] as const) {
          const { records: rs, last } = await readAll(log, 's', parent.shardId);
          expect(rs.map(text)).toEqual([text0]);
          expect(last.next).toBeNull();
          expect(last.childShardIds).toEqual([child.shardId]);
        }
        expect((await readAll(log, 's', child.shardId)).records.map(text)).toEqual(['a0', 'a1']);

        await reopen();
        expect((await log.describeStream('s')).shards.map((x) => [x.shardId, x.parentShardIds, x.endingSequenceNumber])).toEqual(
          d.shards.map((x) => [x.shardId, x.parentShardIds, x.endingSequenceNumber]),
        );
        expect((await log.append('s', [at(s0!.hashKeyRange.startingHashKey, 'r')]))[0]).toMatchObject({ ok: true, shardId: child.shardId });
      });

      it('refuses a split key outside the shard, shards that are not adjacent, open or there', async () => {
        await create('s', { shardCount: 3 });
        const [s0, s1, s2] = (await log.describeStream('s')).shards;
        const start0 = s0!.hashKeyRange.startingHashKey;
        const end0 = s0!.hashKeyRange.endingHashKey;
        await expectCode(log.splitShard('s', s0!.shardId, start0), 'INVALID_ARGUMENT');
        await expectCode(log.splitShard('s', s0!.shardId, (BigInt(end0) + 1n).toString()), 'INVALID_ARGUMENT');
        await expectCode(log.splitShard('s', s0!.shardId, '12x'), 'INVALID_ARGUMENT');
        await expectCode(log.splitShard('s', s2!.shardId, (MAX_HASH_KEY + 1n).toString()), 'INVALID_ARGUMENT');
        await expectCode(log.splitShard('s', 'shardId-000000000042', '5'), 'SHARD_NOT_FOUND');
        await expectCode(log.splitShard('nope', s0!.shardId, '5'), 'STREAM_NOT_FOUND');
        await expectCode(log.mergeShards('s', s0!.shardId, s2!.shardId), 'INVALID_ARGUMENT');
        await expectCode(log.mergeShards('s', s1!.shardId, s1!.shardId), 'INVALID_ARGUMENT');
        await expectCode(log.mergeShards('s', s1!.shardId, 'shardId-000000000042'), 'SHARD_NOT_FOUND');
        await expectCode(log.mergeShards('nope', s0!.shardId, s1!.shardId), 'STREAM_NOT_FOUND');
        // Nothing refused changed the stream.
        expect((await log.describeStream('s')).shards.map((x) => x.shardId)).toEqual([s0!.shardId, s1!.shardId, s2!.shardId]);

        // The key may be the shard's last: the upper child then owns that one key.
        const d = await log.splitShard('s', s0!.shardId, end0);
        expect(d.shards[4]!.hashKeyRange).toEqual({ startingHashKey: end0, endingHashKey: end0 });
        await expectCode(log.splitShard('s', s0!.shardId, '5'), 'SHARD_CLOSED');
        await expectCode(log.mergeShards('s', s0!.shardId, s1!.shardId), 'SHARD_CLOSED');
        await expectCode(log.mergeShards('s', s1!.shardId, s0!.shardId), 'SHARD_CLOSED');
        // The children of a split are adjacent to each other and to the old neighbour.
        const merged = await log.mergeShards('s', d.shards[4]!.shardId, s1!.shardId);
        expect(merged.shards[5]!.hashKeyRange).toEqual({ startingHashKey: end0, endingHashKey: s1!.hashKeyRange.endingHashKey });
        expect(merged.openShardCount).toBe(3);
      });
    });

    describe('deduplication', () => {
      const tx = (id: string | number, extra = '') => ({ partitionKey: `plate-${id}`, data: enc(`{"transaction_id":${JSON.stringify(id)},"amount":3.5${extra}}`) });

      it('stores a repeated field once and answers repeats with the first record', async () => {
        await create('s', { shardCount: 2, dedupe: { mode: 'field', field: 'transaction_id', windowSeconds: 600 } });
        const [first] = await log.append('s', [tx('t1')]);
        const again = await log.append('s', [tx('t1', ',"retry":true'), tx('t2'), tx('t2'), tx(7), tx(7)]);
        expect(first).toMatchObject({ ok: true, duplicate: false });
        expect(again[0]).toEqual({ ...first, duplicate: true });
        expect(again[1]).toMatchObject({ ok: true, duplicate: false });
        expect(again[2]).toEqual({ ...again[1], duplicate: true });
        expect(again[4]).toEqual({ ...again[3], duplicate: true });
        // Records without the field are never deduplicated.
        const plain = await log.append('s', [{ partitionKey: 'x', data: enc('{"other":1}') }, { partitionKey: 'x', data: enc('{"other":1}') }]);
        expect(plain.map((r) => r.ok && r.duplicate)).toEqual([false, false]);
        let stored = 0;
        for (const s of (await log.describeStream('s')).shards) stored += (await readAll(log, 's', s.shardId)).records.length;
        expect(stored).toBe(5);
        expect(log.stats().shards.reduce((n, s) => n + s.duplicatesDropped, 0)).toBe(3);

        await reopen();
        const afterRestart = await log.append('s', [tx('t1'), tx('t3')]);
        expect(afterRestart[0]).toEqual({ ...first, duplicate: true });
        expect(afterRestart[1]).toMatchObject({ duplicate: false });
      });

      it('deduplicates by idempotency key in key mode', async () => {
        await create('s', { dedupe: { mode: 'key' } });
        const a = await log.append('s', [
          { partitionKey: 'p', data: enc('1'), idempotencyKey: 'k1' },
          { partitionKey: 'p', data: enc('2'), idempotencyKey: 'k1' },
          { partitionKey: 'p', data: enc('3') },
        ]);
        expect(a[1]).toEqual({ ...a[0], duplicate: true });
        expect(a[2]).toMatchObject({ duplicate: false });
        const b = await log.append('s', [{ partitionKey: 'other', data: enc('4'), idempotencyKey: 'k1' }]);
        expect(b[0]).toEqual({ ...a[0], duplicate: true });
        expect((await readAll(log, 's', 'shardId-000000000000')).records.map(text)).toEqual(['1', '3']);
        await reopen();
        const c = await log.append('s', [{ partitionKey: 'p', data: enc('5'), idempotencyKey: 'k1' }]);
        expect(c[0]).toEqual({ ...a[0], duplicate: true });
      });

      it('deduplicates concurrent appends of the same key to one stored record', async () => {
        await create('s', { dedupe: { mode: 'field', field: 'transaction_id' } });
        const results = (await Promise.all(Array.from({ length: 8 }, () => log.append('s', [tx('same')])))).flat();
        expect(results.filter((r) => r.ok && !r.duplicate)).toHaveLength(1);
        expect(new Set(results.map((r) => r.ok && r.sequenceNumber)).size).toBe(1);
        expect((await readAll(log, 's', 'shardId-000000000000')).records).toHaveLength(1);
      });

      if (capabilities.clock) {
        it('stores a repeat again once the window has passed', async () => {
          await create('s', { dedupe: { mode: 'field', field: 'transaction_id', windowSeconds: 60 } });
          const [a] = await log.append('s', [tx('w')]);
          h.advanceClock!(30_000);
          expect((await log.append('s', [tx('w')]))[0]).toEqual({ ...a, duplicate: true });
          h.advanceClock!(31_000);
          const [b] = await log.append('s', [tx('w')]);
          expect(b).toMatchObject({ ok: true, duplicate: false });
          expect(b!.ok && a!.ok && b!.sequenceNumber !== a!.sequenceNumber).toBe(true);
        });
      }
    });

    if (capabilities.retention) {
      const { retentionBytes } = capabilities.retention;
      describe('retention', () => {
        it('reclaims the oldest records beyond retentionBytes; older positions read from the oldest kept', async () => {
          await create('s', { retentionBytes });
          const payload = 'x'.repeat(200);
          const written: string[] = [];
          const target = retentionBytes * 4;
          for (let i = 0; written.length * 200 < target; i++) {
            const res = await log.append('s', records(5, `${payload}-${i}-`));
            for (const r of res) if (r.ok) written.push(r.sequenceNumber);
          }
          await h.enforceRetention!();
          const { records: kept } = await readAll(log, 's', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, 1000);
          expect(kept.length).toBeGreaterThan(0);
          expect(kept.length).toBeLessThan(written.length);
          expect(kept[kept.length - 1]!.sequenceNumber).toBe(written[written.length - 1]);
          const fromGone = await log.read('s', 'shardId-000000000000', { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: written[0]! }, { maxRecords: 1 });
          expect(fromGone.records[0]!.sequenceNumber).toBe(kept[0]!.sequenceNumber);
        });

        if (capabilities.clock && capabilities.clockRetention) {
          it('reclaims records older than retentionHours', async () => {
            await create('s', { retentionHours: 1 });
            const payload = 'y'.repeat(200);
            for (let i = 0; i * 1000 < retentionBytes * 2; i++) await log.append('s', records(5, `${payload}-old${i}-`));
            h.advanceClock!(2 * 3_600_000);
            await log.append('s', records(5, 'fresh'));
            await h.enforceRetention!();
            const { records: kept } = await readAll(log, 's', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, 1000);
            expect(kept.map(text).filter((t) => t.startsWith('fresh'))).toHaveLength(5);
            expect(kept.some((t) => text(t).startsWith(`${payload}-old0-`))).toBe(false);
          });

          it('drops a closed parent shard once all its records expired', async () => {
            await create('s', { retentionHours: 1 });
            await log.append('s', records(10));
            await log.updateShardCount('s', 2);
            h.advanceClock!(2 * 3_600_000);
            await log.append('s', records(4, 'fresh'));
            await h.enforceRetention!();
            const d = await log.describeStream('s');
            expect(d.shards.map((s) => s.shardId)).toEqual(['shardId-000000000001', 'shardId-000000000002']);
            expect(d.shards.map((s) => s.parentShardIds)).toEqual([['shardId-000000000000'], ['shardId-000000000000']]);
          });
        }
      });
    }
  });
}
