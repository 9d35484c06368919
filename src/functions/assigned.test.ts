/** A runtime started with `shards: 'assigned'` runs only the shards given to it (the shards whose lease its node holds). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { openEmbeddedLog } from '../log/index.ts';
import { openTables, sqliteTableStore } from '../tables/index.ts';
import { FunctionsRuntime, type FunctionHandler } from './index.ts';

const encoder = new TextEncoder();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-fn-assigned-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'interval' });
  const tables = openTables({ path: path.join(dir, 'tables.db') });
  for (const stream of ['events', 'other']) {
    await log.createStream(stream, { shardCount: 2 });
    await log.append(stream, Array.from({ length: 40 }, (_, n) => ({ partitionKey: `k${n}`, data: encoder.encode(JSON.stringify({ n })) })));
  }
  cleanups.push(async () => {
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { log, tables };
}

async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records seen, as `stream/shardId`. */
function recorder(seen: string[]): FunctionHandler {
  return (event) => void seen.push(...event.records.map(() => `${event.stream}/${event.shardId}`));
}

describe("FunctionsRuntime with shards: 'assigned'", () => {
  it('runs only the assigned shards, from their checkpoint, and stops a released one', async () => {
    const { log, tables } = await setup();
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables), shards: 'assigned' });
    cleanups.push(() => runtime.stop());
    const seen: string[] = [];
    await runtime.assignShard('m', 'events', 'shardId-000000000001');
    await runtime.start({ name: 'm', stream: 'events', startingPosition: 'TRIM_HORIZON', handler: recorder(seen) });
    const shard1 = (await log.read('events', 'shardId-000000000001', { type: 'TRIM_HORIZON' }, { maxRecords: 100 })).records.length;
    await until(() => seen.length === shard1, "shard 1's records");
    await runtime.releaseShard('m', 'events', 'shardId-000000000001');
    await log.append('events', Array.from({ length: 40 }, (_, n) => ({ partitionKey: `k${n}`, data: encoder.encode('{}') })));
    await runtime.assignShard('m', 'events', 'shardId-000000000000');
    const shard0 = (await log.read('events', 'shardId-000000000000', { type: 'TRIM_HORIZON' }, { maxRecords: 100 })).records.length;
    await until(() => seen.filter((s) => s === 'events/shardId-000000000000').length === shard0, "shard 0's records");
    // Shard 1 was released: its new records wait for whoever takes it next.
    expect(seen.filter((s) => s === 'events/shardId-000000000001')).toHaveLength(shard1);
    await runtime.assignShard('m', 'events', 'shardId-000000000001');
    const shard1Now = (await log.read('events', 'shardId-000000000001', { type: 'TRIM_HORIZON' }, { maxRecords: 100 })).records.length;
    await until(() => seen.filter((s) => s === 'events/shardId-000000000001').length === shard1Now, "shard 1's new records");
    expect(shard1Now).toBeGreaterThan(shard1);
  });

  it("keeps a mapping's assignments across a restart, but not onto another stream", async () => {
    const { log, tables } = await setup();
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables), shards: 'assigned' });
    cleanups.push(() => runtime.stop());
    const seen: string[] = [];
    await runtime.assignShard('m', 'events', 'shardId-000000000000');
    await runtime.start({ name: 'm', stream: 'other', startingPosition: 'TRIM_HORIZON', handler: recorder(seen) });
    await runtime.assignShard('m', 'other', 'shardId-000000000001');
    const other1 = (await log.read('other', 'shardId-000000000001', { type: 'TRIM_HORIZON' }, { maxRecords: 100 })).records.length;
    await until(() => seen.length === other1, 'the records of the assigned shard of other');
    await runtime.stop('m');
    await runtime.start({ name: 'm', stream: 'events', startingPosition: 'TRIM_HORIZON', handler: recorder(seen) });
    await until(() => seen.includes('events/shardId-000000000000'), 'the assignment on events to start');
    await runtime.stop();
    expect(new Set(seen)).toEqual(new Set(['other/shardId-000000000001', 'events/shardId-000000000000']));
  });

  it('refuses an assignment on a runtime that runs every shard', async () => {
    const { log, tables } = await setup();
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    const refused = await runtime.assignShard('m', 'events', 'shardId-000000000000').catch((err: unknown) => err);
    expect(isTollstreamError(refused, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('works a shard assigned again while its worker was still stopping (its lease lost and taken back)', async () => {
    const { log, tables } = await setup();
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables), shards: 'assigned' });
    cleanups.push(() => runtime.stop());
    const shard = 'shardId-000000000000';
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let invocations = 0;
    const seen = new Set<string>();
    await runtime.assignShard('m', 'events', shard);
    await runtime.start({
      name: 'm',
      stream: 'events',
      startingPosition: 'TRIM_HORIZON',
      batchSize: 5,
      handler: async (event) => {
        if (++invocations === 1) await gate;
        for (const r of event.records) seen.add(r.sequenceNumber);
      },
    });
    await until(() => invocations === 1, 'the first invocation');
    // The release waits for the invocation in flight; the shard comes back before that ends.
    const stopping = runtime.releaseShard('m', 'events', shard);
    await runtime.assignShard('m', 'events', shard);
    open();
    await stopping;
    const records = (await log.read('events', shard, { type: 'TRIM_HORIZON' }, { maxRecords: 100 })).records.length;
    await until(() => seen.size === records, 'every record of the shard assigned again');
  });

  it('goes on after a passing failure of its tables instead of leaving an assigned shard unworked', async () => {
    const { log, tables } = await setup();
    const store = sqliteTableStore(tables);
    let failures = 1;
    // The first checkpoint read fails as a PostgreSQL out of reach would.
    const flaky = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'getCheckpoint' && failures > 0) {
          failures--;
          return async () => {
            throw new TollstreamError('TABLES_UNAVAILABLE', 'the tables did not answer in time');
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const runtime = new FunctionsRuntime({ log, store: flaky, shards: 'assigned', parentPollMs: 50 });
    cleanups.push(() => runtime.stop());
    const seen: string[] = [];
    await runtime.assignShard('m', 'events', 'shardId-000000000001');
    await runtime.start({ name: 'm', stream: 'events', startingPosition: 'TRIM_HORIZON', handler: recorder(seen) });
    const records = (await log.read('events', 'shardId-000000000001', { type: 'TRIM_HORIZON' }, { maxRecords: 100 })).records.length;
    await until(() => seen.length === records, "the shard's records after the failure");
    expect(failures).toBe(0);
  });
});
