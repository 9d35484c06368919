/**
 * Consumer lag in records: a function mapping stopped while records arrive is behind by exactly the records
 * appended to each shard since its last committed checkpoint, in `tollstream_consumer_lag_records`, and by 0
 * once it runs again and catches up. The exposition passes `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FunctionsRuntime, type FunctionHandler } from '../functions/index.ts';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { Registry } from '../metrics/index.ts';
import { openTables, sqliteTableStore } from '../tables/index.ts';
import { registerConsumerMetrics } from './consumer-metrics.ts';
import { snapshot } from './metrics-history.ts';
import { waitFor } from '../../test/support/wait.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-lag-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  const tables = openTables({ path: path.join(dir, 'tables.db') });
  await log.createStream('tolls', { shardCount: 2 });
  const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
  const registry = new Registry();
  registerConsumerMetrics(registry).addFunctions(runtime);
  cleanups.push(async () => {
    await runtime.stop();
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { log, runtime, registry };
}

/** Appends `n` records with distinct partition keys; returns how many landed in each shard. */
async function append(log: StreamLog, n: number, tag: string): Promise<Map<string, number>> {
  const results = await log.append('tolls', Array.from({ length: n }, (_, i) => ({ partitionKey: `${tag}-${i}`, data: new TextEncoder().encode(String(i)) })));
  const perShard = new Map<string, number>();
  for (const r of results) {
    if (!r.ok) throw new Error(r.errorMessage);
    perShard.set(r.shardId, (perShard.get(r.shardId) ?? 0) + 1);
  }
  return perShard;
}

/** The `tollstream_consumer_lag_records` series of one consumer, by shard, as a scrape shows them. */
async function lagByShard(registry: Registry, consumer: string): Promise<Map<string, number>> {
  const text = await registry.renderAsync();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^tollstream_consumer_lag_records\{consumer="([^"]*)",stream="tolls",shard="([^"]*)",kind="function"\} (\S+)$/gm)) {
    if (m[1] === consumer) out.set(m[2]!, Number(m[3]));
  }
  return out;
}

describe('EmbeddedLog.recordsAfter', () => {
  it('counts the records after a sequence number of the shard, 0 for a closed shard read to its end', async () => {
    const { log } = await setup();
    const results = await log.append('tolls', Array.from({ length: 10 }, () => ({ partitionKey: 'same', data: new Uint8Array([1]) })));
    const seqs = results.map((r) => (r.ok ? r.sequenceNumber : ''));
    const shardId = results[0]!.ok ? results[0]!.shardId : '';
    expect(log.recordsAfter!('tolls', shardId, undefined)).toBe(10);
    expect(log.recordsAfter!('tolls', shardId, seqs[0])).toBe(9);
    expect(log.recordsAfter!('tolls', shardId, seqs[6])).toBe(3);
    expect(log.recordsAfter!('tolls', shardId, seqs[9])).toBe(0);

    const after = await log.updateShardCount('tolls', 4);
    const closed = after.shards.find((s) => s.shardId === shardId)!;
    expect(closed.endingSequenceNumber).toBeDefined();
    expect(log.recordsAfter!('tolls', shardId, closed.endingSequenceNumber)).toBe(0);
    expect(() => log.recordsAfter!('tolls', 'shardId-000000000099', undefined)).toThrow(expect.objectContaining({ code: 'SHARD_NOT_FOUND' }));
    expect(() => log.recordsAfter!('nope', shardId, undefined)).toThrow(expect.objectContaining({ code: 'STREAM_NOT_FOUND' }));
  });
});

describe('tollstream_consumer_lag_records', () => {
  it('counts per shard the records a stopped mapping has not processed, and 0 after it catches up', async () => {
    const { log, runtime, registry } = await setup();
    let processed = 0;
    const handler: FunctionHandler = (event, ctx) => {
      ctx.transact(() => undefined);
      processed += event.records.length;
    };
    const mapping = { name: 'tally', stream: 'tolls', handler, startingPosition: 'TRIM_HORIZON' as const, batchSize: 7 };

    const first = await append(log, 40, 'a');
    await runtime.start(mapping);
    await waitFor('the first records processed', async () => processed === 40 && [...(await lagByShard(registry, 'tally')).values()].every((v) => v === 0), { intervalMs: 20 });
    expect(await lagByShard(registry, 'tally')).toEqual(new Map([...first.keys()].map((s) => [s, 0])));

    await runtime.stop('tally');
    const second = await append(log, 53, 'b');
    expect(second.size).toBe(2); // both shards fell behind, by different amounts
    const behind = await lagByShard(registry, 'tally');
    expect(behind).toEqual(second);
    // The History page keeps the same values, per consumer and shard.
    await registry.collect();
    const kept = snapshot(registry);
    for (const [shard, n] of second) expect(kept[`tollstream_consumer_lag_records{consumer="tally",shard="${shard}"}`]).toBe(n);
    expect(behind.get('shardId-000000000000')! + behind.get('shardId-000000000001')!).toBe(53);

    await runtime.start(mapping);
    await waitFor('the stopped records processed', () => processed === 93, { intervalMs: 20 });
    await waitFor('the lag back to 0', async () => [...(await lagByShard(registry, 'tally')).values()].every((v) => v === 0), { intervalMs: 20 });
    expect(await lagByShard(registry, 'tally')).toEqual(new Map([...second.keys()].map((s) => [s, 0])));

    // A deleted function's series goes away; a stopped one's stays (it is still behind).
    await runtime.stop('tally');
    runtime.forget('tally');
    expect((await lagByShard(registry, 'tally')).size).toBe(0);
  });

  it('counts every retained record for a TRIM_HORIZON mapping that has committed nothing yet', async () => {
    const { log, runtime, registry } = await setup();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let invoked = 0;
    const held: FunctionHandler = async () => {
      invoked++;
      await released;
    };
    const appended = await append(log, 25, 'c');
    await runtime.start({ name: 'stuck', stream: 'tolls', handler: held, startingPosition: 'TRIM_HORIZON' });
    await waitFor('a batch in flight in each shard', () => invoked === 2, { intervalMs: 20 });
    expect(await lagByShard(registry, 'stuck')).toEqual(appended);
    release();
  });

  it('passes promtool check metrics', async () => {
    const { log, runtime, registry } = await setup();
    await append(log, 5, 'd');
    await runtime.start({ name: 'tally', stream: 'tolls', handler: () => undefined, startingPosition: 'TRIM_HORIZON' });
    const text = await registry.renderAsync();
    expect(text).toMatch(/^# TYPE tollstream_consumer_lag_records gauge$/m);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
