/**
 * Function mappings under work leases, wired as the server wires them (`startWorkLeases` with `functionConsumers`):
 * two runtimes, as two nodes, over one tables database (their checkpoints) and one lease table. Each shard runs on
 * one runtime; when a runtime loses the lease table its shards move to the other, which resumes from the
 * checkpoints, and every record's effect is counted exactly once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/index.ts';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { FunctionsRuntime, type FunctionHandler } from '../functions/index.ts';
import { memoryLeaseStore, type LeaseStore } from '../leases/index.ts';
import { cutOff, TEST_LEASE_MS, TEST_RENEW_MS, until, WorkLog } from '../leases/conformance.ts';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { Registry } from '../metrics/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../tables/index.ts';
import { functionConsumers, leaseKey, startNodeLeases, startWorkLeases, type ShardConsumer, type WorkLeases } from './work-leases.ts';

const encoder = new TextEncoder();
const undo: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of undo.splice(0)) await step();
});

/** Which node committed which record (stream order per shard), and whether it held the shard's lease from the invocation's start to its commit. */
interface Effect {
  readonly node: string;
  readonly shardId: string;
  readonly n: number;
  readonly leased: boolean;
}

async function setup(shardCount: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-fn-leases-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'interval' });
  const tables = openTables({ path: path.join(dir, 'tables.db') });
  tables.createTable('effects', { ifNotExists: true });
  await log.createStream('events', { shardCount });
  undo.push(async () => {
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { log, tables, store: memoryLeaseStore() };
}

let next = 0;
async function put(log: StreamLog, count: number): Promise<number[]> {
  const ns = Array.from({ length: count }, () => next++);
  await log.append('events', ns.map((n) => ({ partitionKey: `vehicle-${n % 37}`, data: encoder.encode(JSON.stringify({ n })) })));
  return ns;
}

/**
 * One node: a runtime started with `shards: 'assigned'` running the mapping `count` (each record adds 1 to its own
 * item of `effects`, in the transaction that moves the checkpoint), under leases taken through `store`. The work log
 * says when the node may work a shard: from before its worker starts to after its worker stopped. Invocations wait
 * for `gate`, if given, and take `invocationMs` before they commit.
 */
async function startNode(
  node: string,
  deps: { log: StreamLog; tables: Tables; store: LeaseStore; work: WorkLog; effects: Effect[]; gate?: Promise<void>; invocationMs?: number },
): Promise<{ runtime: FunctionsRuntime; leases: WorkLeases }> {
  const { log, tables, work, effects } = deps;
  const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables), shards: 'assigned', parentPollMs: 50 });
  const handler: FunctionHandler = async (event, ctx) => {
    await deps.gate;
    const key = leaseKey({ kind: 'function', name: 'count', stream: 'events' }, event.shardId);
    const holds = () => work.byOwner().get(node)?.includes(key) ?? false;
    const leasedAtStart = holds();
    const ns = event.records.map((r) => r.json<{ n: number }>().n);
    if (deps.invocationMs) await new Promise((r) => setTimeout(r, deps.invocationMs));
    await ctx.transact(async (tx) => {
      for (const n of ns) await tx.update('effects', { pk: String(n) }, { add: { count: 1 } });
    });
    const leased = leasedAtStart && holds();
    for (const n of ns) effects.push({ node, shardId: event.shardId, n, leased });
  };
  await runtime.start({ name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 20, handler });
  const watched = (): ShardConsumer[] =>
    functionConsumers(runtime).map((c) => ({
      ...c,
      assignShard: async (shardId, lease) => {
        work.start(node, leaseKey(c, shardId));
        await c.assignShard(shardId, lease);
      },
      releaseShard: async (shardId) => {
        await c.releaseShard(shardId);
        work.stop(node, leaseKey(c, shardId));
      },
    }));
  const steps: Array<() => Promise<void> | void> = [];
  // The store is shared: a node's stop must not close it for the other.
  const store = { ...deps.store, close: async () => undefined };
  const leases = await startWorkLeases({ store, owner: node, leaseMs: TEST_LEASE_MS, leaseRenewMs: TEST_RENEW_MS, consumers: watched, log, logger: silentLogger, shardSyncMs: 100 }, steps);
  undo.unshift(async () => {
    for (const step of steps) await step();
    await runtime.stop();
  });
  return { runtime, leases };
}

function countOf(tables: Tables, n: number): number {
  return (tables.get('effects', { pk: String(n) })?.value.count as number | undefined) ?? 0;
}

describe('function mappings under work leases', () => {
  it('runs each shard on one of two runtimes, and moves a cut-off runtime\'s shards to the other, each effect once', async () => {
    const { log, tables, store } = await setup(2);
    const work = new WorkLog();
    const effects: Effect[] = [];
    const cut = cutOff(store);
    // node-a's invocations take a while, so one is in flight when it must stop: it stops only once that one ended.
    const a = await startNode('node-a', { log, tables, store: cut, work, effects, invocationMs: 100 });
    const b = await startNode('node-b', { log, tables, store, work, effects });
    // node-a, alone at first, takes both leases; node-b then asks for its fair share and gets one by hand-over.
    await until('a shard each', () => work.byOwner().get('node-a')?.length === 1 && work.byOwner().get('node-b')?.length === 1);
    const written = await put(log, 200);
    await until('every record counted', () => written.every((n) => countOf(tables, n) >= 1));
    const shardOf = new Map<string, string>();
    for (const e of effects) {
      expect(shardOf.get(e.shardId) ?? e.node, `shard ${e.shardId} ran on one runtime`).toBe(e.node);
      shardOf.set(e.shardId, e.node);
    }
    expect(new Set(shardOf.values())).toEqual(new Set(['node-a', 'node-b']));
    const aShard = [...shardOf].find(([, node]) => node === 'node-a')![0];
    expect(a.leases.status().held).toEqual([leaseKey({ kind: 'function', name: 'count', stream: 'events' }, aShard)]);

    // node-a loses the lease table (as a node cut off or dead is, for the others) while records keep coming.
    cut.down = true;
    const cutAt = performance.now();
    const before = effects.length;
    while (!(work.byOwner().get('node-b')?.length === 2)) {
      written.push(...(await put(log, 10)));
      await new Promise((r) => setTimeout(r, 50));
    }
    const movedAt = performance.now();
    written.push(...(await put(log, 100)));
    await until('every record counted', () => written.every((n) => countOf(tables, n) >= 1));
    console.log(`function takeover: node-a cut off from the lease table -> node-b works its shard ${Math.round(movedAt - cutAt)} ms later (lease ${TEST_LEASE_MS} ms, renew ${TEST_RENEW_MS} ms); ${written.length} records, each counted once`);

    expect(work.overlaps).toEqual([]);
    expect(effects.every((e) => e.leased), 'every effect came from the holder of its shard\'s lease').toBe(true);
    expect(a.leases.status().held).toEqual([]);
    expect(b.leases.status().held).toHaveLength(2);
    // node-b took node-a's shard over and worked on from node-a's checkpoint: each record's effect exactly once.
    expect(effects.slice(before).some((e) => e.node === 'node-b' && e.shardId === aShard)).toBe(true);
    expect(written.filter((n) => countOf(tables, n) !== 1)).toEqual([]);
    expect(effects.map((e) => e.n).sort((x, y) => x - y)).toEqual([...written].sort((x, y) => x - y));
    // In stream order within node-a's shard, across the two runtimes.
    const onShard = effects.filter((e) => e.shardId === aShard);
    const switched = onShard.findIndex((e) => e.node === 'node-b');
    expect(onShard.slice(switched).every((e) => e.node === 'node-b')).toBe(true);
    expect(a.runtime.stats()[0]!.recordsProcessed + b.runtime.stats()[0]!.recordsProcessed).toBe(written.length);
  });

  it('starts when the lease table fails while its leases are created, and creates them at the next sync', async () => {
    const { log, tables, store } = await setup(2);
    const work = new WorkLog();
    const effects: Effect[] = [];
    // The lease table answers, but its first two statements creating leases time out (a loaded server).
    let failures = 2;
    const flaky: LeaseStore = {
      ...store,
      ensure: async (keys) => {
        if (failures-- > 0) throw new TollstreamError('LEASES_UNAVAILABLE', 'Connection terminated due to connection timeout');
        return store.ensure(keys);
      },
    };
    await startNode('node-a', { log, tables, store: flaky, work, effects });
    const written = await put(log, 50);
    await until('both shards worked', () => work.byOwner().get('node-a')?.length === 2);
    await until('every record counted', () => written.every((n) => countOf(tables, n) >= 1));
    expect(failures).toBeLessThan(0);
    expect(written.filter((n) => countOf(tables, n) !== 1)).toEqual([]);
  });

  it('gives the children of a reshard their own leases, each started once the other runtime finished its parent', async () => {
    const { log, tables, store } = await setup(2);
    const work = new WorkLog();
    const effects: Effect[] = [];
    // Nothing takes effect until the children have their leases: the parents still have records to finish then.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    await startNode('node-a', { log, tables, store, work, effects, gate });
    await startNode('node-b', { log, tables, store, work, effects, gate });
    await until('a shard each', () => work.byOwner().get('node-a')?.length === 1 && work.byOwner().get('node-b')?.length === 1);
    const written = await put(log, 100);
    const parents = (await log.describeStream('events')).shards.map((s) => s.shardId);
    await log.updateShardCount('events', 4);
    written.push(...(await put(log, 200)));
    const shards = (await log.describeStream('events')).shards;
    await until('a lease per shard held', () => work.workedKeys === shards.length);
    open();
    await until('every record counted', () => written.every((n) => countOf(tables, n) >= 1));

    expect(work.overlaps).toEqual([]);
    expect(written.filter((n) => countOf(tables, n) !== 1)).toEqual([]);
    // A child's first effect comes after every effect of its parents, whichever runtime ran them.
    const children = shards.filter((s) => s.parentShardIds.length > 0);
    expect(children.length).toBeGreaterThan(0);
    for (const child of children) {
      const first = effects.findIndex((e) => e.shardId === child.shardId);
      expect(first, `records of ${child.shardId} took effect`).toBeGreaterThanOrEqual(0);
      for (const parent of child.parentShardIds) {
        expect(parents).toContain(parent);
        expect(effects.findLastIndex((e) => e.shardId === parent)).toBeLessThan(first);
      }
    }
    // Per partition key, records took effect in the order they were written.
    const byKey = new Map<number, number[]>();
    for (const e of effects) byKey.set(e.n % 37, [...(byKey.get(e.n % 37) ?? []), e.n]);
    for (const ns of byKey.values()) expect(ns).toEqual([...ns].sort((x, y) => x - y));
  });

  it('puts a node alone on one lease table in memory: its deliveries and its function mappings, a mapping started later too', async () => {
    const { log, tables } = await setup(2);
    const delivered: string[] = [];
    const delivery: ShardConsumer = {
      kind: 'delivery',
      name: 'warehouse',
      stream: 'events',
      assignShard: async (shardId) => void delivered.push(shardId),
      releaseShard: async (shardId) => void delivered.splice(delivered.indexOf(shardId), 1),
    };
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables), shards: 'assigned' });
    undo.unshift(() => runtime.stop());
    const steps: Array<() => Promise<void> | void> = [];
    undo.unshift(async () => {
      for (const step of steps) await step();
    });
    const leases = await startNodeLeases({ config: DEFAULT_CONFIG, deliveries: [delivery], functions: runtime, log, metrics: new Registry(), logger: silentLogger }, steps);
    expect(leases!.status().held).toEqual(['delivery:warehouse:events:shardId-000000000000', 'delivery:warehouse:events:shardId-000000000001']);
    expect(delivered.sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);

    // A function deployed while the node runs: its shards get leases, and it runs.
    const seen: number[] = [];
    await runtime.start({ name: 'late', stream: 'events', startingPosition: 'TRIM_HORIZON', handler: (event) => void seen.push(...event.records.map((r) => r.json<{ n: number }>().n)) });
    const written = await put(log, 30);
    await until('the late mapping to see every record', () => seen.length === written.length);
    const status = leases!.status();
    expect(status.owner).toBe('local');
    expect(status.held).toEqual([
      'delivery:warehouse:events:shardId-000000000000',
      'delivery:warehouse:events:shardId-000000000001',
      'function:late:events:shardId-000000000000',
      'function:late:events:shardId-000000000001',
    ]);
    expect(Object.values(status.owners).every((o) => o === 'local')).toBe(true);
    expect(seen.sort((x, y) => x - y)).toEqual(written);
  });
});
