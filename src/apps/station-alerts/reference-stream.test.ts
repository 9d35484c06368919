import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedLog, type StreamLog } from '../../log/index.ts';
import { renderStationQuery } from './query.ts';
import { appendStationReference } from './reference-stream.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openLog(): Promise<StreamLog> {
  const dir = await mkdtemp(path.join(tmpdir(), 'station-ref-'));
  const log = await openEmbeddedLog({ dir, fsync: 'interval' });
  cleanups.push(() => rm(dir, { recursive: true, force: true }), () => log.close());
  return log;
}

async function records(log: StreamLog): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const shard of (await log.describeStream('station_reference')).shards) {
    const { records: batch } = await log.read('station_reference', shard.shardId, { type: 'TRIM_HORIZON' });
    for (const r of batch) out.push({ ...(JSON.parse(Buffer.from(r.data).toString('utf8')) as object), partitionKey: r.partitionKey });
  }
  return out;
}

describe('station reference onto the log', () => {
  it('appends each row keyed by plaza, and a deletion for each key the new reference leaves out', async () => {
    const log = await openLog();
    const previous = [
      { plaza_id: 'P01', day_of_week: 3, slot: 28 },
      { plaza_id: 'P09', day_of_week: 3, slot: 28 },
    ];
    // Warehouse rows may carry bigints and the CLI's CSV strings: both become numbers.
    const rows = [{ plaza_id: 'P01', day_of_week: 3, slot: 28, expected_count: 360n, alert_threshold: '100' }];
    expect(await appendStationReference(log, rows, previous)).toEqual({ appended: 1, removed: 1 });
    const stored = await records(log);
    expect(stored).toHaveLength(2);
    expect(stored).toContainEqual({ plaza_id: 'P01', day_of_week: 3, slot: 28, expected_count: 360, alert_threshold: 100, partitionKey: 'P01' });
    expect(stored).toContainEqual({ plaza_id: 'P09', day_of_week: 3, slot: 28, _deleted: true, partitionKey: 'P09' });
  });

  it('refuses a value that is not a whole number, naming the column', async () => {
    const log = await openLog();
    await expect(appendStationReference(log, [{ plaza_id: 'P01', day_of_week: 3, slot: 28, expected_count: 'many', alert_threshold: 1 }])).rejects.toThrow(/expected_count/);
  });
});

describe('the shipped query', () => {
  it('is filled in with the configured window and defaults only', () => {
    const sql = renderStationQuery({ transactionsStream: 'tolls', windowMinutes: 15, defaultExpected: 7, defaultThreshold: 3, latenessSeconds: 60 });
    expect(sql).toContain("INTERVAL '15' MINUTE");
    expect(sql).toContain('COALESCE(r.alert_threshold, 3)');
    expect(sql).toContain("'stream' = 'tolls'");
    expect(sql).not.toContain('{{');
    expect(() => renderStationQuery({ transactionsStream: "x'; DROP", windowMinutes: 30, defaultExpected: 0, defaultThreshold: 0, latenessSeconds: 60 })).toThrow(/not a stream name/);
    expect(() => renderStationQuery({ transactionsStream: 'tolls', windowMinutes: 30, defaultExpected: -1, defaultThreshold: 0, latenessSeconds: 60 })).toThrow(/defaultExpected/);
  });
});
