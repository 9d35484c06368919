import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { openEmbeddedLog, type EmbeddedStreamLog, type StreamLog } from '../log/index.ts';
import { SinkWriter } from './sink-writer.ts';

describe('SinkWriter', () => {
  let dir: string;
  let log: EmbeddedStreamLog;
  let appends: number[];
  let counting: StreamLog;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tollstream-sink-writer-'));
    log = await openEmbeddedLog({ dir, fsync: 'always' });
    await log.createStream('out', { shardCount: 1, dedupe: { mode: 'key', windowSeconds: 3600 } });
    appends = [];
    // The real log, with the size of each append noted.
    counting = Object.create(log, {
      append: { value: (stream: string, records: Parameters<StreamLog['append']>[1]) => (appends.push(records.length), log.append(stream, records)) },
    }) as StreamLog;
  });

  afterEach(async () => {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('appends the rows the engine delivers at once in one append, not the first row alone and then the rest', async () => {
    const writer = new SinkWriter({ log: counting, stream: 'out', query: 'q', output: 'OUT', keys: null, forgetAfterMs: 3_600_000, logger: silentLogger });
    const now = Date.now();
    // A window closing: its groups are delivered in a few synchronous calls, one per operator batch.
    for (let batch = 0; batch < 4; batch++) writer.addRows(Array.from({ length: 512 }, (_, i) => ({ customer_id: `c${batch * 512 + i}`, total_cents: i })), now);
    await writer.flushed();
    expect(appends).toEqual([2048]);
    expect(writer.rowsWritten).toBe(2048);
    const stored = await log.read('out', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, { maxRecords: 10_000 });
    expect(stored.records).toHaveLength(2048);
  });

  it('splits a burst larger than one append into appends in order, every row once', async () => {
    const writer = new SinkWriter({ log: counting, stream: 'out', query: 'q', output: 'OUT', keys: null, forgetAfterMs: 3_600_000, logger: silentLogger });
    writer.addRows(Array.from({ length: 12_000 }, (_, i) => ({ n: i })), Date.now());
    await writer.flushed();
    expect(appends.reduce((a, b) => a + b, 0)).toBe(12_000);
    expect(Math.max(...appends)).toBeLessThanOrEqual(5000);
    const stored = await log.read('out', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, { maxRecords: 10_000 });
    const more = await log.read('out', 'shardId-000000000000', { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: stored.records.at(-1)!.sequenceNumber }, { maxRecords: 10_000 });
    const values = [...stored.records, ...more.records].map((r) => (JSON.parse(Buffer.from(r.data).toString('utf8')) as { n: number }).n);
    expect(values).toEqual(Array.from({ length: 12_000 }, (_, i) => i));
  });
});
