import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import os from 'node:os';
import path from 'node:path';
import { describeStreamLogConformance } from '../conformance.ts';
import { openEmbeddedLog } from '../index.ts';
import { formatSequenceNumber } from '../sequence.ts';
import type { EmbeddedLogOptions, EmbeddedStreamLog } from '../index.ts';

describeStreamLogConformance(
  'embedded',
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-log-'));
    let clock = Date.now();
    const options: EmbeddedLogOptions = { dir, fsync: 'always', segmentBytes: 4096, indexIntervalBytes: 256, now: () => clock };
    let log: EmbeddedStreamLog = await openEmbeddedLog(options);
    return {
      get log() {
        return log;
      },
      async reopen() {
        await log.close();
        log = await openEmbeddedLog(options);
        return log;
      },
      advanceClock(ms: number) {
        clock += ms;
      },
      enforceRetention: () => log.enforceRetention(),
      async cleanup() {
        await log.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { clock: true, clockRetention: true, retention: { retentionBytes: 16 * 1024 } },
);

describeStreamLogConformance(
  'embedded, fsync interval',
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-log-'));
    const options: EmbeddedLogOptions = { dir, fsync: 'interval', fsyncIntervalMs: 5, segmentBytes: 4096, indexIntervalBytes: 256 };
    let log: EmbeddedStreamLog = await openEmbeddedLog(options);
    return {
      get log() {
        return log;
      },
      async reopen() {
        await log.close();
        log = await openEmbeddedLog(options);
        return log;
      },
      async cleanup() {
        await log.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  {},
);

describe('embedded log', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rec = (i: number, size = 100) => ({ partitionKey: `k${i}`, data: Buffer.from(`{"id":"${i}","pad":"${'x'.repeat(size)}"}`) });

  it('describes and lists the stream as UPDATING while a split runs, ACTIVE once it returned', async () => {
    const log = await openEmbeddedLog({ dir, fsync: 'always' });
    try {
      await log.createStream('s');
      let done = false;
      const split = log.splitShard('s', 'shardId-000000000000', (1n << 127n).toString()).finally(() => (done = true));
      const seen = new Set<string>();
      // One look per turn of the event loop: the split's file writes and fsyncs take several.
      while (!done) {
        seen.add(`describe ${(await log.describeStream('s')).status}`);
        seen.add(`list ${(await log.listStreams())[0]!.status}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect((await split).status).toBe('ACTIVE');
      expect(seen).toContain('describe UPDATING');
      expect(seen).toContain('list UPDATING');
      expect((await log.describeStream('s')).status).toBe('ACTIVE');
    } finally {
      await log.close();
    }
  });

  it('covers many concurrent appends to a shard with few fsyncs', async () => {
    const log = await openEmbeddedLog({ dir, fsync: 'always' });
    await log.createStream('s');
    log.stats();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append('s', [rec(i)])));
    expect(results.flat().every((r) => r.ok)).toBe(true);
    const fsyncs = log.stats().fsyncDurationsMs.length;
    expect(fsyncs).toBeGreaterThan(0);
    expect(fsyncs).toBeLessThan(50);
    await log.close();
  });

  it('reads the same records from the recent batches it keeps in memory as from the files, whatever the limits', async () => {
    const log = await openEmbeddedLog({ dir, fsync: 'always', segmentBytes: 256 * 1024 });
    await log.createStream('s', { shardCount: 1 });
    // 3 MiB in batches of 7 records: more than the 2 MiB kept in memory, so early reads come from the files, and
    // a batch that spans offset 10,000, where the sequence numbers' high digits change. Keys ASCII, non-ASCII
    // and long; some records with an explicit hash key.
    const key = (i: number) => (i % 3 === 0 ? `k${i}` : i % 3 === 1 ? `ключ-${i}` : `${'long-key-'.repeat(5)}${i}`);
    const total = 7 * 1430;
    for (let b = 0; b < total / 7; b++) {
      await log.append('s', Array.from({ length: 7 }, (_, k) => {
        const i = b * 7 + k;
        return { ...rec(i, 300), partitionKey: key(i), ...(i % 5 === 0 ? { explicitHashKey: String(BigInt(i) * 10n ** 30n) } : {}) };
      }));
    }
    type Seen = { seq: string; key: string; hash: string | undefined; text: string; at: number };
    const readAll = async (from: EmbeddedStreamLog, maxRecords: number, maxBytes: number) => {
      const seen: Seen[] = [];
      let position: Parameters<EmbeddedStreamLog['read']>[2] = { type: 'TRIM_HORIZON' };
      for (;;) {
        const { records, next } = await from.read('s', 'shardId-000000000000', position, { maxRecords, maxBytes });
        if (records.length === 0 || next === null) break;
        expect(records.length).toBeLessThanOrEqual(maxRecords);
        for (const r of records) seen.push({ seq: r.sequenceNumber, key: r.partitionKey, hash: r.explicitHashKey, text: Buffer.from(r.data).toString(), at: r.arrivalTime });
        position = next;
      }
      return seen;
    };
    const limits: [number, number][] = [[10_000, 16 * 1024 * 1024], [7, 16 * 1024 * 1024], [10_000, 1000], [1, 1]];
    const warm: Seen[][] = [];
    for (const [n, b] of limits) warm.push(await readAll(log, n, b));
    await log.close();
    const cold = await openEmbeddedLog({ dir, fsync: 'always', segmentBytes: 256 * 1024 });
    const fromFiles: Seen[][] = [];
    for (const [n, b] of limits) fromFiles.push(await readAll(cold, n, b));
    await cold.close();
    expect(warm[0]).toHaveLength(total);
    expect(warm[0]!.map((r) => r.key)).toEqual(Array.from({ length: total }, (_, i) => key(i)));
    expect(warm[0]!.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => formatSequenceNumber(0, i)));
    expect(warm[0]!.map((r) => r.hash)).toEqual(Array.from({ length: total }, (_, i) => (i % 5 === 0 ? String(BigInt(i) * 10n ** 30n) : undefined)));
    for (let i = 0; i < limits.length; i++) {
      expect(warm[i]).toEqual(warm[0]);
      expect(fromFiles[i]).toEqual(warm[0]);
    }
  });

  it('rebuilds missing or damaged index files and still finds records by offset and time', async () => {
    let clock = 1_000_000;
    const options: EmbeddedLogOptions = { dir, fsync: 'always', segmentBytes: 1024, indexIntervalBytes: 128, now: () => clock };
    let log = await openEmbeddedLog(options);
    await log.createStream('s');
    const seqs: string[] = [];
    for (let i = 0; i < 40; i++) {
      clock += 1000;
      const [r] = await log.append('s', [rec(i)]);
      if (r!.ok) seqs.push(r!.sequenceNumber);
    }
    await log.close();
    const shardDir = path.join(dir, 'streams', 's', 'shardId-000000000000');
    const names = (await readdir(shardDir)).sort();
    const indexes = names.filter((n) => n.endsWith('.index'));
    expect(indexes.length).toBeGreaterThan(3);
    await rm(path.join(shardDir, indexes[0]!));
    await writeFile(path.join(shardDir, indexes[1]!.replace('.index', '.timeindex')), Buffer.alloc(5, 0xff));
    await writeFile(path.join(shardDir, indexes[2]!), Buffer.alloc(16, 0x7f));
    // Plausible but wrong: a second entry pointing into the middle of the first batch.
    const idx = Buffer.alloc(16);
    idx.writeUInt32BE(1, 8);
    idx.writeUInt32BE(7, 12);
    const tix = Buffer.alloc(24);
    tix.writeUInt32BE(1, 20);
    await writeFile(path.join(shardDir, indexes[3]!), idx);
    await writeFile(path.join(shardDir, indexes[3]!.replace('.index', '.timeindex')), tix);
    log = await openEmbeddedLog(options);
    const all = await log.read('s', 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    expect(all.records.map((r) => r.sequenceNumber)).toEqual(seqs);
    for (const i of [0, 7, 19, 33, 39]) {
      const at = await log.read('s', 'shardId-000000000000', { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seqs[i]! }, { maxRecords: 1 });
      expect(at.records[0]!.sequenceNumber).toBe(seqs[i]);
      const t = all.records[i]!.arrivalTime;
      const byTime = await log.read('s', 'shardId-000000000000', { type: 'AT_TIMESTAMP', timestamp: t - 500 }, { maxRecords: 1 });
      expect(byTime.records[0]!.sequenceNumber).toBe(seqs[i]);
    }
    expect(await readdir(shardDir)).toContain(indexes[0]);
    await log.close();
  });

  it('forgets the oldest dedupe keys past dedupeMaxKeys, storing a later repeat again', async () => {
    const log = await openEmbeddedLog({ dir, fsync: 'always', dedupeMaxKeys: 2 });
    await log.createStream('s', { dedupe: { mode: 'key' } });
    const put = (key: string) => log.append('s', [{ partitionKey: 'p', data: Buffer.from(key), idempotencyKey: key }]);
    await put('a');
    await put('b');
    expect((await put('b'))[0]).toMatchObject({ duplicate: true });
    await put('c');
    expect((await put('a'))[0]).toMatchObject({ duplicate: false });
    await log.close();
  });

  it('reports each dedupe window: the keys it remembers, within its bound, and the memory it holds', async () => {
    const log = await openEmbeddedLog({ dir, fsync: 'always', dedupeMaxKeys: 5000 });
    await log.createStream('keyed', { dedupe: { mode: 'key' } });
    await log.createStream('plain');
    const keyed = (from: number, n: number) =>
      log.append('keyed', Array.from({ length: n }, (_, i) => ({ partitionKey: 'p', data: Buffer.from('x'), idempotencyKey: `tx-${from + i}` })));
    await keyed(0, 100);
    const small = log.stats().dedupe!;
    expect(small).toEqual([{ stream: 'keyed', keys: 100, bytes: expect.any(Number), evictedEarly: 0, effectiveWindowSeconds: expect.any(Number) }]);
    for (let i = 100; i < 8000; i += 500) await keyed(i, 500);
    const full = log.stats().dedupe![0]!;
    expect(full.keys).toBe(5000);
    expect(full.evictedEarly).toBe(8100 - 5000);
    expect(full.bytes).toBeGreaterThan(small[0]!.bytes);
    await log.close();
  });

  it('rolls segments and reclaims them by size without losing the newest records', async () => {
    const log = await openEmbeddedLog({ dir, fsync: 'always', segmentBytes: 2048 });
    await log.createStream('s', { retentionBytes: 8192 });
    for (let i = 0; i < 200; i++) await log.append('s', [rec(i, 200)]);
    await log.enforceRetention();
    const stats = log.stats().shards[0]!;
    expect(stats.storedBytes).toBeLessThanOrEqual(8192 + 2048 + 512);
    const res = await log.read('s', 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    const last = JSON.parse(Buffer.from(res.records[res.records.length - 1]!.data).toString()) as { id: string };
    expect(last.id).toBe('199');
    await log.close();
  });

  it('expires the records of a quiet shard too, continuing its sequence afterwards', async () => {
    let clock = 5_000_000;
    const log = await openEmbeddedLog({ dir, fsync: 'always', now: () => clock });
    await log.createStream('s', { retentionHours: 1 });
    const [old] = await log.append('s', [rec(1), rec(2)]);
    clock += 2 * 3_600_000;
    await log.enforceRetention();
    const shard = 'shardId-000000000000';
    expect((await log.read('s', shard, { type: 'TRIM_HORIZON' })).records).toEqual([]);
    const [fresh] = await log.append('s', [rec(3)]);
    expect(BigInt(fresh!.ok ? fresh!.sequenceNumber : 0)).toBe(BigInt(old!.ok ? old!.sequenceNumber : 0) + 2n);
    const fromOld = await log.read('s', shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: old!.ok ? old!.sequenceNumber : '' });
    expect(fromOld.records.map((r) => r.sequenceNumber)).toEqual([fresh!.ok ? fresh!.sequenceNumber : '']);
    await log.close();
  });

  it('dedupes a field by its decoded value, escaped or not, and survives a restart with any key bytes', async () => {
    const options: EmbeddedLogOptions = { dir, fsync: 'always' };
    let log = await openEmbeddedLog(options);
    await log.createStream('s', { dedupe: { mode: 'field', field: 'id' } });
    const put = (json: string) => log.append('s', [{ partitionKey: 'p', data: Buffer.from(json) }]);
    const [first] = await put('{"id":"tx-1é"}');
    expect((await put('{"id":"tx\\u002d1\\u00e9","n":2}'))[0]).toEqual({ ...first, duplicate: true });
    const [num] = await put('{"id":42}');
    expect((await put('{"id":"42"}'))[0]).toEqual({ ...num, duplicate: true });
    expect((await put('{"id":42.0}'))[0]).toMatchObject({ duplicate: false });
    await log.close();
    log = await openEmbeddedLog(options);
    expect((await put('{"id":"tx-1é"}'))[0]).toEqual({ ...first, duplicate: true });
    expect((await put('{"id":"tx\\u002d1\\u00e9"}'))[0]).toEqual({ ...first, duplicate: true });
    expect((await put('{"id":42}'))[0]).toEqual({ ...num, duplicate: true });
    await log.close();
  });
});
