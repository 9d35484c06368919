/**
 * Consumer lag in time, `tollstream_consumer_lag_seconds`: per consumer and shard, the age of the oldest record
 * after the consumer's last committed position, 0 when nothing is behind. It is live: 0 after a restart that
 * caught up (not the age of the last batch, frozen), and growing while records wait. The console's consumer view
 * reads it from the same scrape (web/src/lib/consumer-lag.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { consumerLag } from '../../web/src/lib/consumer-lag.ts';
import { parsePrometheusText } from '../../web/src/lib/prometheus.ts';
import { FunctionsRuntime, type FunctionHandler } from '../functions/index.ts';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { Registry } from '../metrics/index.ts';
import { openTables, sqliteTableStore, type TableStore } from '../tables/index.ts';
import { registerConsumerMetrics } from './consumer-metrics.ts';
import { snapshot } from './metrics-history.ts';
import { waitFor } from '../../test/support/wait.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-lag-seconds-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  const tables = openTables({ path: path.join(dir, 'tables.db') });
  await log.createStream('tolls', { shardCount: 2 });
  cleanups.push(async () => {
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { log, store: sqliteTableStore(tables) };
}

/** A runtime with its own registry, as a server process has: a restart is a new one over the same log and store. */
function runtimeOf(log: StreamLog, store: TableStore) {
  const runtime = new FunctionsRuntime({ log, store });
  const registry = new Registry();
  registerConsumerMetrics(registry).addFunctions(runtime);
  cleanups.push(() => runtime.stop());
  return { runtime, registry };
}

async function append(log: StreamLog, n: number, tag: string): Promise<Map<string, { count: number; firstArrival: number }>> {
  const results = await log.append('tolls', Array.from({ length: n }, (_, i) => ({ partitionKey: `${tag}-${i}`, data: new TextEncoder().encode(String(i)) })));
  const perShard = new Map<string, { count: number; firstArrival: number }>();
  for (const r of results) {
    if (!r.ok) throw new Error(r.errorMessage);
    const seen = perShard.get(r.shardId);
    if (seen) seen.count++;
    else perShard.set(r.shardId, { count: 1, firstArrival: (await log.read('tolls', r.shardId, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: r.sequenceNumber }, { maxRecords: 1 })).records[0]!.arrivalTime });
  }
  return perShard;
}

/** One scrape, with the time just before and just after it. */
async function scrape(registry: Registry) {
  const before = Date.now();
  const text = await registry.renderAsync();
  const after = Date.now();
  const seconds = new Map<string, number>();
  const records = new Map<string, number>();
  for (const m of text.matchAll(/^tollstream_consumer_lag_(seconds|records)\{consumer="tally",stream="tolls",shard="([^"]*)",kind="function"\} (\S+)$/gm)) {
    (m[1] === 'seconds' ? seconds : records).set(m[2]!, Number(m[3]));
  }
  return { before, after, seconds, records, console: consumerLag(parsePrometheusText(text)).find((l) => l.consumer === 'tally' && l.kind === 'function') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tollstream_consumer_lag_seconds for functions', () => {
  it('is 0 after a restart that caught up with records that waited, and grows while records wait', async () => {
    const { log, store } = await setup();
    let processed = 0;
    const handler: FunctionHandler = (event, ctx) => {
      ctx.transact(() => undefined);
      processed += event.records.length;
    };
    const mapping = { name: 'tally', stream: 'tolls', handler, startingPosition: 'TRIM_HORIZON' as const, batchSize: 7 };

    // Records arrive while the server is down, and wait a while before it comes back.
    const waited = await append(log, 40, 'a');
    expect(waited.size).toBe(2);
    await sleep(400);
    const { runtime, registry } = runtimeOf(log, store);
    await runtime.start(mapping);
    await waitFor('the waiting records processed', async () => processed === 40 && [...(await scrape(registry)).records.values()].every((v) => v === 0), { intervalMs: 20 });

    // Nothing is behind: 0 on every shard, and the console shows 0, however old the last batch processed was.
    const caughtUp = await scrape(registry);
    expect(caughtUp.seconds).toEqual(new Map([...waited.keys()].map((s) => [s, 0])));
    expect(caughtUp.console?.seconds).toBe(0);
    await sleep(200);
    expect((await scrape(registry)).console?.seconds).toBe(0);

    // Records wait for a stopped mapping: the lag is the age of the oldest of them, per shard, and it grows.
    await runtime.stop('tally');
    const behind = await append(log, 30, 'b');
    expect(behind.size).toBe(2);
    const first = await scrape(registry);
    for (const [shard, { firstArrival }] of behind) {
      const s = first.seconds.get(shard)!;
      expect(s).toBeGreaterThanOrEqual((first.before - firstArrival) / 1000);
      expect(s).toBeLessThanOrEqual((first.after - firstArrival) / 1000);
    }
    await sleep(200);
    const later = await scrape(registry);
    for (const [shard, { firstArrival }] of behind) {
      expect(later.seconds.get(shard)!).toBeGreaterThan(first.seconds.get(shard)!);
      expect(later.seconds.get(shard)!).toBeGreaterThanOrEqual((later.before - firstArrival) / 1000);
    }
    expect(later.console?.seconds).toBe(Math.max(...later.seconds.values()));
    expect(later.console?.shards.map((s) => s.seconds)).toEqual([...later.seconds.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v));

    // The history keeps it per kind, consumer and shard.
    await registry.collect();
    const kept = snapshot(registry);
    for (const shard of behind.keys()) expect(kept[`tollstream_consumer_lag_seconds{kind="function",consumer="tally",shard="${shard}"}`]).toBeGreaterThan(0);

    // Caught up again: back to 0.
    await runtime.start(mapping);
    await waitFor('the lag back to 0', async () => processed === 70 && [...(await scrape(registry)).seconds.values()].every((v) => v === 0), { intervalMs: 20 });
  });
});
