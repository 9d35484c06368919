import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../tables/index.ts';
import { FunctionsRuntime, type FunctionEvent, type FunctionHandler } from './index.ts';

const encoder = new TextEncoder();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(shardCount = 2) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-fn-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  const tables = openTables({ path: path.join(dir, 'tables.db') });
  tables.createTable('counts', { ifNotExists: true });
  await log.createStream('events', { shardCount });
  await log.createStream('failures', { shardCount: 1 });
  cleanups.push(async () => {
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, log, tables };
}

async function put(log: StreamLog, items: Array<{ key: string; n: number; poison?: boolean }>) {
  await log.append('events', items.map((i) => ({ partitionKey: i.key, data: encoder.encode(JSON.stringify(i)) })));
}

/** Counts each record into the `counts` table, keyed by partition key, and remembers the order seen. */
function countingHandler(seen: Map<string, number[]>): FunctionHandler {
  return (event: FunctionEvent, ctx) => {
    ctx.transact((tx) => {
      for (const r of event.records) {
        const { key, n } = r.json<{ key: string; n: number }>();
        tx.update('counts', { pk: key }, { add: { count: 1 } });
        seen.set(key, [...(seen.get(key) ?? []), n]);
      }
    });
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function total(tables: Tables, keys: string[]) {
  return keys.reduce((sum, k) => sum + ((tables.get('counts', { pk: k })?.value.count as number | undefined) ?? 0), 0);
}

describe('FunctionsRuntime', () => {
  it('delivers every record once, in order per partition key, in batches no larger than batchSize', async () => {
    const { log, tables } = await setup();
    const seen = new Map<string, number[]>();
    let largest = 0;
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    const handler = countingHandler(seen);
    await runtime.start({
      name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 7,
      handler: (e, c) => {
        largest = Math.max(largest, e.records.length);
        return handler(e, c);
      },
    });
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (let round = 0; round < 10; round++) await put(log, keys.map((key) => ({ key, n: round })));
    await until(() => total(tables, keys) === 50, 'all 50 records');
    await runtime.stop();
    expect(largest).toBeLessThanOrEqual(7);
    for (const k of keys) expect(seen.get(k)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('resumes after a restart without applying any record twice', async () => {
    const { log, tables } = await setup();
    const seen = new Map<string, number[]>();
    const keys = ['k1', 'k2', 'k3'];
    const first = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await first.start({ name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 5, handler: countingHandler(seen) });
    for (let round = 0; round < 5; round++) await put(log, keys.map((key) => ({ key, n: round })));
    await until(() => total(tables, keys) >= 6, 'some records');
    await first.stop();
    for (let round = 5; round < 10; round++) await put(log, keys.map((key) => ({ key, n: round })));
    const second = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await second.start({ name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 5, handler: countingHandler(seen) });
    await until(() => total(tables, keys) === 30, 'all 30 records');
    await second.stop();
    expect(total(tables, keys)).toBe(30);
    for (const k of keys) expect(seen.get(k)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('commits the shard checkpoint in the same transaction as the handler effects', async () => {
    const { log, tables } = await setup(1);
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    const seenAtCommit: (string | undefined)[] = [];
    await runtime.start({
      name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 100,
      handler: async (event, ctx) => {
        await ctx.transact(async (tx) => {
          for (const r of event.records) await tx.update('counts', { pk: r.partitionKey }, { add: { count: 1 } });
        });
        // Right after the handler's commit, before the runtime's own bookkeeping: a crash here must not re-read the batch.
        seenAtCommit.push(tables.getCheckpoint('function:count', 'events', 'shardId-000000000000')?.sequenceNumber);
        if (seenAtCommit.length === 1) expect(seenAtCommit[0]).toBe(event.records[event.records.length - 1]!.sequenceNumber);
      },
    });
    await put(log, ['a', 'b', 'c'].map((key, n) => ({ key, n })));
    await until(() => total(tables, ['a', 'b', 'c']) === 3, 'three records');
    await runtime.stop();
    const last = (await log.read('events', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, { maxRecords: 10 })).records.at(-1)!.sequenceNumber;
    expect(seenAtCommit.at(-1)).toBe(last);
  });

  it('does not apply a batch twice when the handler committed and then failed', async () => {
    const { log, tables } = await setup(1);
    let calls = 0;
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({
      name: 'flaky', stream: 'events', startingPosition: 'TRIM_HORIZON', retryBaseDelayMs: 5,
      handler: (event, ctx) => {
        calls++;
        ctx.transact((tx) => {
          for (const r of event.records) tx.update('counts', { pk: r.partitionKey }, { add: { count: 1 } });
        });
        if (calls === 1) throw new Error('crashed after committing');
      },
    });
    await put(log, [{ key: 'x', n: 1 }, { key: 'x', n: 2 }]);
    await until(() => calls >= 1 && runtime.stats()[0]!.recordsProcessed >= 2, 'the batch');
    await new Promise((r) => setTimeout(r, 100));
    await runtime.stop();
    expect(tables.get('counts', { pk: 'x' })?.value.count).toBe(2);
    expect(calls).toBe(1);
  });

  it('retries a batch whose transact failed, also when the handler neither awaited it nor saw the error', async () => {
    const { log, tables } = await setup(1);
    let calls = 0;
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({
      name: 'unawaited', stream: 'events', startingPosition: 'TRIM_HORIZON', retryBaseDelayMs: 5,
      handler: (event, ctx) => {
        calls++;
        const first = calls === 1;
        // Not awaited: the handler returns before its commit has even begun.
        void ctx.transact(async (tx) => {
          for (const r of event.records) await tx.update('counts', { pk: r.partitionKey }, { add: { count: 1 } });
          if (first) throw new Error('the commit failed');
        });
      },
    });
    await put(log, [{ key: 'u', n: 1 }]);
    await until(() => runtime.stats()[0]!.recordsProcessed >= 1, 'the batch');
    const stats = runtime.stats()[0]!;
    await runtime.stop();
    expect(calls).toBe(2);
    expect(stats.errors).toBe(1);
    expect(tables.get('counts', { pk: 'u' })?.value.count).toBe(1);
  });

  it('retries from the first failed record reported by the handler', async () => {
    const { log, tables } = await setup(1);
    const deliveries: number[][] = [];
    let failedOnce = false;
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({
      name: 'partial', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 10, retryBaseDelayMs: 5,
      handler: (event) => {
        const ns = event.records.map((r) => r.json<{ n: number }>().n);
        deliveries.push(ns);
        const third = event.records[2];
        if (!failedOnce && third) {
          failedOnce = true;
          return { batchItemFailures: [{ itemIdentifier: third.sequenceNumber }] };
        }
      },
    });
    await put(log, [0, 1, 2, 3, 4].map((n) => ({ key: 'p', n })));
    await until(() => deliveries.flat().includes(4) && deliveries.length >= 2, 'the retry');
    await runtime.stop();
    expect(deliveries[0]).toEqual([0, 1, 2, 3, 4]);
    expect(deliveries[1]).toEqual([2, 3, 4]);
  });

  it('isolates a poison record by bisection and sends only it to the on-failure stream', async () => {
    const { log, tables } = await setup(1);
    const done: number[] = [];
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({
      name: 'poison', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 8,
      maximumRetryAttempts: 1, bisectBatchOnFunctionError: true, retryBaseDelayMs: 1, onFailure: { stream: 'failures' },
      handler: (event, ctx) => {
        const items = event.records.map((r) => r.json<{ n: number; poison?: boolean }>());
        if (items.some((i) => i.poison)) throw new Error('cannot handle poison');
        ctx.transact(() => done.push(...items.map((i) => i.n)));
      },
    });
    await put(log, [0, 1, 2, 3, 4, 5, 6, 7].map((n) => ({ key: 'q', n, poison: n === 5 })));
    await until(() => runtime.stats()[0]!.recordsSentToOnFailure === 1 && done.length === 7, 'poison isolated');
    await put(log, [{ key: 'q', n: 8 }]);
    await until(() => done.includes(8), 'the shard to keep going');
    await runtime.stop();
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7, 8]);
    const shard = (await log.describeStream('failures')).shards[0]!.shardId;
    const failures = await log.read('failures', shard, { type: 'TRIM_HORIZON' });
    expect(failures.records).toHaveLength(1);
    const details = JSON.parse(new TextDecoder().decode(failures.records[0]!.data));
    expect(details).toMatchObject({ stream: 'events', batchSize: 1, requestContext: { mapping: 'poison' } });
  });

  it('keeps order per partition key with a parallelization factor', async () => {
    const { log, tables } = await setup(1);
    const seen = new Map<string, number[]>();
    let concurrent = 0;
    let maxConcurrent = 0;
    const counting = countingHandler(seen);
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({
      name: 'parallel', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 50, parallelizationFactor: 4,
      handler: async (e, c) => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await new Promise((r) => setTimeout(r, 5));
        counting(e, c);
        concurrent--;
      },
    });
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
    for (let round = 0; round < 5; round++) await put(log, keys.map((key) => ({ key, n: round })));
    await until(() => total(tables, keys) === 100, 'all 100 records');
    await runtime.stop();
    expect(maxConcurrent).toBeGreaterThan(1);
    for (const k of keys) expect(seen.get(k)).toEqual([0, 1, 2, 3, 4]);
  });

  it('finishes parent shards before their children after a reshard', async () => {
    const { log, tables } = await setup(1);
    const seen = new Map<string, number[]>();
    const keys = ['r1', 'r2', 'r3', 'r4'];
    for (let round = 0; round < 3; round++) await put(log, keys.map((key) => ({ key, n: round })));
    await log.updateShardCount('events', 2);
    for (let round = 3; round < 6; round++) await put(log, keys.map((key) => ({ key, n: round })));
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({ name: 'reshard', stream: 'events', startingPosition: 'TRIM_HORIZON', handler: countingHandler(seen) });
    await until(() => total(tables, keys) === 24, 'all 24 records');
    await runtime.stop();
    for (const k of keys) expect(seen.get(k)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('keeps each key in order across a split and a merge of chosen shards', async () => {
    const { log, tables } = await setup(2);
    const seen = new Map<string, number[]>();
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const round = async (n: number) => put(log, keys.map((key) => ({ key, n })));
    for (let n = 0; n < 2; n++) await round(n);
    const [s0] = (await log.describeStream('events')).shards;
    const middle = (BigInt(s0!.hashKeyRange.startingHashKey) + BigInt(s0!.hashKeyRange.endingHashKey)) / 2n;
    const split = await log.splitShard('events', s0!.shardId, middle.toString());
    for (let n = 2; n < 4; n++) await round(n);
    const [low, high] = split.shards.filter((x) => x.parentShardIds.includes(s0!.shardId));
    const merged = await log.mergeShards('events', low!.shardId, high!.shardId);
    for (let n = 4; n < 6; n++) await round(n);
    // The keys reach every shard the split and the merge made, so the order is tested across them.
    for (const shard of [low!, high!, merged.shards[merged.shards.length - 1]!]) {
      expect((await log.read('events', shard.shardId, { type: 'TRIM_HORIZON' })).records.length).toBeGreaterThan(0);
    }
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({ name: 'split-merge', stream: 'events', startingPosition: 'TRIM_HORIZON', handler: countingHandler(seen) });
    await until(() => total(tables, keys) === 48, 'all 48 records');
    await runtime.stop();
    for (const k of keys) expect(seen.get(k)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('names the setting that is wrong', async () => {
    const { log, tables } = await setup(1);
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await expect(runtime.start({ name: 'bad', stream: 'events', batchSize: 0, handler: () => {} })).rejects.toThrow(/batchSize must be an integer from 1 to 10000/);
    await expect(runtime.start({ name: 'bad', stream: 'nope', handler: () => {} })).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
  });
});
