/**
 * Fenced function commits on PostgreSQL: a runtime whose commits are fenced (`fenceCommits`) works a shard under the
 * lease it took in the lease table of the same database. When the lease row is stolen under it (as another node
 * taking the lease over would), the invocation in flight cannot commit: its state, its checkpoints and the
 * runtime's checkpoint-only commits are refused in their transaction (`LEASE_LOST`), the worker stops with one log
 * line and no retries, and whoever holds the lease next resumes from the last checkpoint, each effect once. The
 * same for a deployed function, whose worker thread commits on a connection of its own. A redrive of a batch the
 * function gave up on runs only under the shard's lease, and its commit (with the redrive's mark) is refused the same way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { isTollstreamError } from '../../src/core/errors.ts';
import { FunctionDeployments, FunctionLogs, FunctionsRuntime, parseGivenUp, type FunctionHandler, type GivenUpBatch } from '../../src/functions/index.ts';
import { until } from '../../src/leases/conformance.ts';
import { fenceCommits, openPostgresLeaseStore, type LeaseToken } from '../../src/leases/index.ts';
import { leaseStoreTimeoutMs, leaseTimings } from '../../src/config/index.ts';
import { openEmbeddedLog, type StreamLog } from '../../src/log/index.ts';
import { openPostgresTables, openTables, type TableStore } from '../../src/tables/index.ts';
import { postgresSchema } from './server.ts';

const encoder = new TextEncoder();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setUp() {
  const tablesPlace = postgresSchema('fence_tables');
  const leasePlace = postgresSchema('fence_leases');
  cleanups.push(() => tablesPlace.cleanup(), () => leasePlace.cleanup());
  const leases = await openPostgresLeaseStore({ connectionString: leasePlace.url, schema: leasePlace.schema, timeoutMs: leaseStoreTimeoutMs(leaseTimings(undefined)) });
  cleanups.push(() => leases.close());
  const store = await openPostgresTables({ connectionString: tablesPlace.url, schema: tablesPlace.schema });
  cleanups.push(() => store.close());
  await store.createTable('effects');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-fence-'));
  const log = await openEmbeddedLog({ dir, fsync: 'interval' });
  cleanups.push(async () => {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await log.createStream('events', { shardCount: 1 });
  const tablesPath = path.join(dir, 'tables.db');
  const shardId = (await log.describeStream('events')).shards[0]!.shardId;
  const key = `function:count:events:${shardId}`;
  await leases.ensure([key]);
  return { store, leases, tablesPlace, leasePlace, log, shardId, key, dir, tablesPath };
}

async function put(log: StreamLog, from: number, count: number): Promise<void> {
  await log.append('events', Array.from({ length: count }, (_, i) => ({ partitionKey: `vehicle-${(from + i) % 7}`, data: encoder.encode(JSON.stringify({ n: from + i })) })));
}

async function countOf(store: TableStore, n: number): Promise<number> {
  return ((await store.get('effects', { pk: String(n) }))?.value.count as number | undefined) ?? 0;
}

describe('fenced function commits on PostgreSQL', () => {
  it('refuses the commit of a node whose lease was taken, stops its worker once, and the next holder resumes from the checkpoint', async () => {
    const { store, leases, leasePlace, log, shardId, key } = await setUp();
    fenceCommits(store, leasePlace.schema);
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', write: (l) => void lines.push(l) });
    let gate: Promise<void> | undefined;
    let reachedGate = false;
    const handler: FunctionHandler = async (event, ctx) => {
      if (gate) {
        reachedGate = true;
        await gate;
      }
      await ctx.transact(async (tx) => {
        for (const r of event.records) await tx.update('effects', { pk: String(r.json<{ n: number }>().n) }, { add: { count: 1 } });
      });
    };
    const runtime = new FunctionsRuntime({ log, store, shards: 'assigned', fenceCommits: true, logger });
    cleanups.push(() => runtime.stop());
    await runtime.start({ name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 10, handler });

    const taken = await leases.take(key, 'node-a', 0, 60_000);
    const lease: LeaseToken = { key, owner: 'node-a', epoch: taken!.epoch };
    await runtime.assignShard('count', 'events', shardId, lease);
    await put(log, 0, 20);
    await until('the first 20 records counted', async () => (await countOf(store, 19)) === 1 && (await countOf(store, 0)) === 1);
    const checkpointBefore = await store.listCheckpoints('function:count');

    // The next batch waits in the handler while another node takes the lease (the row is stolen under node-a).
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    await put(log, 20, 10);
    await until('an invocation in flight', () => reachedGate);
    await leasePlace.admin(`UPDATE "${leasePlace.schema}".leases SET owner = 'node-b', epoch = epoch + 1, expires_at = now() + interval '1 hour' WHERE key = $1`, [key]);
    const invocationsAtSteal = runtime.stats()[0]!.invocations;
    open();
    // Ends either way: refused (the worker stops and says so), or, were commits not fenced, committed.
    await until('the invocation in flight to end', async () => lines.some((l) => l.includes('another node holds the shard')) || (await countOf(store, 29)) > 0);

    for (let n = 20; n < 30; n++) expect(await countOf(store, n)).toBe(0);
    expect(await store.listCheckpoints('function:count')).toEqual(checkpointBefore);
    const stats = runtime.stats()[0]!;
    // The one invocation in flight was refused; nothing was retried or counted as an error, and nothing logged as one.
    expect(stats.invocations).toBe(invocationsAtSteal);
    expect(stats.retries).toBe(0);
    expect(stats.errors).toBe(0);
    expect(lines.filter((l) => l.includes('another node holds the shard'))).toHaveLength(1);
    expect(lines.filter((l) => JSON.parse(l).level === 'error')).toEqual([]);

    // The shard comes back under a new lease (as node-b handing it back): the worker resumes from the checkpoint.
    gate = undefined;
    await runtime.releaseShard('count', 'events', shardId);
    await leasePlace.admin(`UPDATE "${leasePlace.schema}".leases SET owner = 'node-a', epoch = epoch + 1 WHERE key = $1`, [key]);
    const back = (await leases.read()).leases.find((l) => l.key === key)!;
    await runtime.assignShard('count', 'events', shardId, { key, owner: 'node-a', epoch: back.epoch });
    await until('the last 10 records counted', async () => (await countOf(store, 29)) === 1 && (await countOf(store, 20)) === 1);
    for (let n = 0; n < 30; n++) expect(await countOf(store, n)).toBe(1);
  });

  it('refuses the commit of a deployed function\'s worker thread once the lease was taken, and stops its shard the same way', async () => {
    const { store, leases, tablesPlace, leasePlace, log, shardId, key, dir, tablesPath } = await setUp();
    fenceCommits(store, leasePlace.schema);
    const lines: string[] = [];
    const logs = new FunctionLogs();
    const runtime = new FunctionsRuntime({ log, store, shards: 'assigned', fenceCommits: true, logger: logs.capture(createLogger({ level: 'warn', write: (l) => void lines.push(l) })) });
    cleanups.push(() => runtime.stop());
    const tables = openTables({ path: tablesPath });
    cleanups.push(() => tables.close());
    const deployments = new FunctionDeployments({
      dir: path.join(dir, 'functions'),
      tablesPath,
      tables,
      runtime,
      logs,
      cluster: { node: 'node-a', postgres: { connectionString: tablesPlace.url, schema: tablesPlace.schema, leaseSchema: leasePlace.schema } },
    });
    cleanups.push(() => deployments.close());
    await deployments.open();
    // Records from 20 on wait in the worker until the test opens the gate (an item in the shared tables).
    const code = `export const tables = ['effects', 'gate'];
export async function handler(event, ctx) {
  const ns = event.records.map((r) => r.json().n);
  if (ns.some((n) => n >= 20)) {
    ctx.logger.info('waiting at the gate');
    while (!(await ctx.tables.get('gate', { pk: 'open' }))) await new Promise((r) => setTimeout(r, 20));
  }
  await ctx.transact(async (tx) => {
    for (const n of ns) await tx.update('effects', { pk: String(n) }, { add: { count: 1 } });
  });
}`;
    await deployments.deploy({ name: 'count', stream: 'events', code, settings: { startingPosition: 'TRIM_HORIZON', batchSize: 10 } }, 'config');
    const taken = await leases.take(key, 'node-a', 0, 60_000);
    await runtime.assignShard('count', 'events', shardId, { key, owner: 'node-a', epoch: taken!.epoch });
    await put(log, 0, 20);
    await until('the first 20 records counted', async () => (await countOf(store, 19)) === 1 && (await countOf(store, 0)) === 1);
    const checkpointBefore = await store.listCheckpoints('function:count');

    await put(log, 20, 10);
    await until('an invocation waiting in its worker', () => deployments.logs('count').some((l) => l.msg === 'waiting at the gate'));
    await leasePlace.admin(`UPDATE "${leasePlace.schema}".leases SET owner = 'node-b', epoch = epoch + 1, expires_at = now() + interval '1 hour' WHERE key = $1`, [key]);
    const invocationsAtSteal = runtime.stats()[0]!.invocations;
    await store.put('gate', { pk: 'open' }, {});
    await until('the invocation in flight to end', async () => lines.some((l) => l.includes('another node holds the shard')) || (await countOf(store, 29)) > 0);

    for (let n = 20; n < 30; n++) expect(await countOf(store, n)).toBe(0);
    expect(await store.listCheckpoints('function:count')).toEqual(checkpointBefore);
    const stats = runtime.stats()[0]!;
    expect(stats.invocations).toBe(invocationsAtSteal);
    expect(stats).toMatchObject({ retries: 0, errors: 0 });
    expect(lines.filter((l) => l.includes('another node holds the shard'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  });

  it('sends a given-up batch again only under the shard\'s lease, and refuses the redrive\'s commit once the lease was taken meanwhile', async () => {
    const { store, leases, leasePlace, log, shardId, key } = await setUp();
    fenceCommits(store, leasePlace.schema);
    await log.createStream('events_failed', { shardCount: 1 });
    let broken = true;
    let gate: Promise<void> | undefined;
    let reachedGate = false;
    const handler: FunctionHandler = async (event, ctx) => {
      if (broken) throw new Error('the payment service is down');
      if (gate) {
        reachedGate = true;
        await gate;
      }
      await ctx.transact(async (tx) => {
        for (const r of event.records) await tx.update('effects', { pk: String(r.json<{ n: number }>().n) }, { add: { count: 1 } });
      });
    };
    const runtime = new FunctionsRuntime({ log, store, shards: 'assigned', fenceCommits: true });
    cleanups.push(() => runtime.stop());
    await runtime.start({ name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 0, retryBaseDelayMs: 1, onFailure: { stream: 'events_failed' }, handler });
    const taken = await leases.take(key, 'node-a', 0, 60_000);
    await runtime.assignShard('count', 'events', shardId, { key, owner: 'node-a', epoch: taken!.epoch });
    await put(log, 0, 3);
    let batch: GivenUpBatch | undefined;
    await until('the batch given up on', async () => {
      const failedShard = (await log.describeStream('events_failed')).shards[0]!.shardId;
      const read = await log.read('events_failed', failedShard, { type: 'TRIM_HORIZON' }, { maxRecords: 10 });
      batch = read.records.length > 0 ? parseGivenUp(read.records[0]!.data) : undefined;
      return batch !== undefined;
    });
    broken = false;

    // The redrive waits in the handler while another node takes the lease: its commit, with the mark, is refused.
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const redrive = runtime.redrive(batch!).catch((err: unknown) => err);
    await until('the redrive in the handler', () => reachedGate);
    await leasePlace.admin(`UPDATE "${leasePlace.schema}".leases SET owner = 'node-b', epoch = epoch + 1, expires_at = now() + interval '1 hour' WHERE key = $1`, [key]);
    open();
    expect(isTollstreamError(await redrive, 'LEASE_LOST')).toBe(true);
    for (let n = 0; n < 3; n++) expect(await countOf(store, n)).toBe(0);
    expect(await runtime.wasRedriven(batch!)).toBe(false);

    // Without the shard (node-b holds it), this node refuses the redrive before running anything.
    gate = undefined;
    await runtime.releaseShard('count', 'events', shardId);
    const refused = await runtime.redrive(batch!).catch((err: unknown) => err);
    expect(isTollstreamError(refused, 'LEASE_NOT_HELD')).toBe(true);

    // Back under a new lease: the redrive runs once, and a second one is refused.
    await leasePlace.admin(`UPDATE "${leasePlace.schema}".leases SET owner = 'node-a', epoch = epoch + 1 WHERE key = $1`, [key]);
    const back = (await leases.read()).leases.find((l) => l.key === key)!;
    await runtime.assignShard('count', 'events', shardId, { key, owner: 'node-a', epoch: back.epoch });
    expect(await runtime.redrive(batch!)).toBe(3);
    expect(isTollstreamError(await runtime.redrive(batch!).catch((err: unknown) => err), 'CONDITION_FAILED')).toBe(true);
    for (let n = 0; n < 3; n++) expect(await countOf(store, n)).toBe(1);
  });
});
