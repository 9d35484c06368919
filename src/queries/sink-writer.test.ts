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

  it('reports an output time, and resolves flushed(), only once every row before it is appended, a row that failed and was retried included', async () => {
    // The first append stores every row but the first; the retry stores it.
    let release!: () => void;
    const retried = new Promise<void>((r) => (release = r));
    let retrying!: () => void;
    const retryStarted = new Promise<void>((r) => (retrying = r));
    let calls = 0;
    const flaky = Object.create(log, {
      append: {
        value: async (stream: string, records: Parameters<StreamLog['append']>[1]) => {
          calls++;
          if (calls === 1) {
            const rest = await log.append(stream, records.slice(1));
            return [{ ok: false, errorCode: 'ProvisionedThroughputExceededException', errorMessage: 'slow down' }, ...rest];
          }
          retrying();
          await retried;
          return log.append(stream, records);
        },
      },
    }) as StreamLog;
    const writer = new SinkWriter({ log: flaky, stream: 'out', query: 'q', output: 'OUT', keys: null, forgetAfterMs: 3_600_000, logger: silentLogger });
    writer.markEmittedUpTo(1000);
    expect(writer.emittedUpTo).toBe(1000);
    writer.addRows([{ n: 1 }, { n: 2 }, { n: 3 }], Date.now());
    writer.markEmittedUpTo(2000);
    writer.markEmittedUpTo(1500);
    // A checkpoint waits for these three rows the same way.
    let threeFlushed = false;
    void writer.flushed().then(() => (threeFlushed = true));
    writer.addRows([{ n: 4 }], Date.now());
    writer.markEmittedUpTo(2500);
    // The first append is over (the writer retries the failed row) and the retry is held.
    await retryStarted;
    // Three rows are stored (2, 3, 4), as many as came before 2000, but row 1 is not: 2000 would claim it.
    expect(calls).toBe(2);
    expect(writer.rowsWritten).toBe(3);
    expect(writer.emittedUpTo).toBe(1000);
    expect(threeFlushed).toBe(false);
    release();
    await writer.flushed();
    expect(writer.emittedUpTo).toBe(2500);
    writer.markEmittedUpTo(3000);
    expect(writer.emittedUpTo).toBe(3000);
  });
});
