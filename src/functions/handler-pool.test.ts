/**
 * Handlers in worker threads: effects exactly once through the worker's own connection, and a handler that
 * loops, allocates without bound or hangs after its commit costs its worker, never the runtime.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../tables/index.ts';
import { HandlerPool, type HandlerLogLine } from './handler-pool.ts';
import { FunctionsRuntime, type MappingStats } from './index.ts';

const encoder = new TextEncoder();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const COUNTING = `
export async function handler(event, ctx) {
  ctx.logger.info('batch', { records: event.records.length });
  ctx.transact((tx) => {
    for (const r of event.records) tx.update('counts', { pk: r.json().key }, { add: { count: 1 } });
  });
}
`;

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-pool-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  const tablesPath = path.join(dir, 'tables.db');
  const tables = openTables({ path: tablesPath });
  tables.createTable('counts', { ifNotExists: true });
  await log.createStream('events', { shardCount: 2 });
  const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
  const pools: HandlerPool[] = [];
  cleanups.push(async () => {
    await runtime.stop();
    for (const p of pools) await p.close();
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const lines: HandlerLogLine[] = [];
  const pool = (name: string, source: string, limits: { timeoutMs?: number; memoryMiB?: number } = {}) => {
    const codeFile = path.join(dir, `${name}.mjs`);
    fs.writeFileSync(codeFile, source);
    const p = new HandlerPool({ name, codeFile, tablesPath, timeoutMs: limits.timeoutMs ?? 10_000, memoryMiB: limits.memoryMiB ?? 64, onLog: (l) => lines.push(l), onCommit: () => undefined });
    pools.push(p);
    return p;
  };
  return { dir, log, tables, runtime, pool, lines };
}

async function put(log: StreamLog, stream: string, keys: string[]) {
  await log.append(stream, keys.map((key, i) => ({ partitionKey: key, data: encoder.encode(JSON.stringify({ key, i })) })));
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (tables: Tables, key: string) => (tables.get('counts', { pk: key })?.value.count as number | undefined) ?? 0;
const statsOf = (runtime: FunctionsRuntime, name: string): MappingStats => runtime.stats().find((s) => s.name === name)!;

describe('handlers in worker threads', () => {
  it('commit state and checkpoints on the worker connection, once per record, and their log lines reach the server', async () => {
    const { log, tables, runtime, pool, lines } = await setup();
    await runtime.start({ name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 7, handler: pool('count', COUNTING).handler });
    const keys = Array.from({ length: 60 }, (_, i) => `k${i % 6}`);
    await put(log, 'events', keys);
    await until(() => statsOf(runtime, 'count').recordsProcessed === 60, 'all records processed');
    for (let k = 0; k < 6; k++) expect(count(tables, `k${k}`)).toBe(10);
    expect(tables.listCheckpoints('function:count').length).toBeGreaterThan(0);
    expect(lines.some((l) => l.msg === 'batch' && typeof l.fields?.records === 'number')).toBe(true);
  });

  it('stops a looping handler at its timeout and one allocating without bound at its memory limit; other functions keep running', async () => {
    const { log, tables, runtime, pool } = await setup();
    await log.createStream('other', { shardCount: 1 });
    const loop = pool('loop', 'export function handler() { for (;;) {} }', { timeoutMs: 500 });
    const hog = pool('hog', 'export function handler() { const keep = []; for (;;) keep.push(new Array(1e5).fill(Math.random())); }', { memoryMiB: 32 });
    const settings = { stream: 'events', startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 1, retryBaseDelayMs: 10 } as const;
    await runtime.start({ ...settings, name: 'loop', handler: loop.handler });
    await runtime.start({ ...settings, name: 'hog', handler: hog.handler });
    await runtime.start({ name: 'count', stream: 'other', startingPosition: 'TRIM_HORIZON', handler: pool('count', COUNTING).handler });
    await put(log, 'events', ['a']);
    await put(log, 'other', ['x', 'y', 'x']);
    await until(() => count(tables, 'x') === 2 && count(tables, 'y') === 1, 'the other function to run');
    // Two attempts each (maximumRetryAttempts 1), then the batch is given up and the mapping goes on.
    await until(() => statsOf(runtime, 'loop').recordsSentToOnFailure === 1 && statsOf(runtime, 'hog').recordsSentToOnFailure === 1, 'both batches given up');
    expect(statsOf(runtime, 'loop')).toMatchObject({ errors: 2, lastFailure: { code: 'FUNCTION_TIMEOUT' } });
    expect(statsOf(runtime, 'hog')).toMatchObject({ errors: 2, lastFailure: { code: 'FUNCTION_CRASHED', message: expect.stringContaining('out of memory') } });
    // And they keep consuming: the next record reaches them (and times out again).
    await put(log, 'events', ['b']);
    await until(() => statsOf(runtime, 'loop').recordsSentToOnFailure === 2, 'the looping function to take the next record');
  });

  it('stops a handler whose Buffers go past its memory limit, as one out of heap; other functions keep running', async () => {
    const { log, tables, runtime, pool, lines } = await setup();
    await log.createStream('other', { shardCount: 1 });
    // Neither grows the heap much: 1 MiB Buffers kept until 300 MiB, one awaiting between them, one all at once and kept after it returns.
    const buffers = pool('buffers', 'export async function handler() { const keep = []; for (let i = 0; i < 300; i++) { keep.push(Buffer.alloc(1 << 20, 1)); await new Promise((r) => setImmediate(r)); } }', { memoryMiB: 32 });
    const hoard = pool('hoard', 'const kept = []; export function handler() { for (let i = 0; i < 300; i++) kept.push(new Uint8Array(1 << 20).fill(1)); }', { memoryMiB: 32 });
    const settings = { stream: 'events', startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 1, retryBaseDelayMs: 10 } as const;
    await runtime.start({ ...settings, name: 'buffers', handler: buffers.handler });
    await runtime.start({ ...settings, name: 'hoard', handler: hoard.handler });
    await runtime.start({ name: 'count', stream: 'other', startingPosition: 'TRIM_HORIZON', handler: pool('count', COUNTING).handler });
    await put(log, 'events', ['a']);
    await until(() => statsOf(runtime, 'buffers').recordsSentToOnFailure === 1 && statsOf(runtime, 'hoard').recordsSentToOnFailure === 1, 'both batches given up');
    for (const name of ['buffers', 'hoard']) {
      expect(statsOf(runtime, name)).toMatchObject({ errors: 2, recordsProcessed: 0, lastFailure: { code: 'FUNCTION_CRASHED', message: expect.stringMatching(/out of memory \(memoryMiB 32, it held \d+ MiB of heap and \d+ MiB of Buffers and ArrayBuffers\)/) } });
    }
    // Stopped near the limit, long before the 300 MiB the handler asked for.
    const held = Number(/and (\d+) MiB of Buffers/.exec(statsOf(runtime, 'buffers').lastFailure!.message)![1]);
    expect(held).toBeLessThan(64);
    await put(log, 'other', ['x', 'y', 'x']);
    await until(() => count(tables, 'x') === 2 && count(tables, 'y') === 1, 'the other function to run');
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('does not redo a commit made just before the handler timed out', async () => {
    const { log, tables, runtime, pool } = await setup();
    const source = `
export function handler(event, ctx) {
  ctx.transact((tx) => { for (const r of event.records) tx.update('counts', { pk: r.json().key }, { add: { count: 1 } }); });
  if (ctx.attempt === 1) for (;;) {}
}`;
    await runtime.start({ name: 'late', stream: 'events', startingPosition: 'TRIM_HORIZON', retryBaseDelayMs: 10, handler: pool('late', source, { timeoutMs: 500 }).handler });
    await put(log, 'events', ['a', 'b', 'a']);
    await until(() => statsOf(runtime, 'late').recordsProcessed === 3, 'the timed-out invocations to be settled');
    expect(statsOf(runtime, 'late').lastFailure?.code).toBe('FUNCTION_TIMEOUT');
    // Give a wrongly retried batch time to land before looking.
    await put(log, 'events', ['c']);
    await until(() => count(tables, 'c') === 1, 'the next batch');
    expect([count(tables, 'a'), count(tables, 'b')]).toEqual([2, 1]);
  });

  it('replaces a worker that died between invocations, and does not count it any more', async () => {
    const { log, tables, runtime, pool, lines } = await setup();
    const source = `
export function handler(event, ctx) {
  ctx.transact((tx) => { for (const r of event.records) tx.update('counts', { pk: r.json().key }, { add: { count: 1 } }); });
  setTimeout(() => { console.log('dying'); throw new Error('thrown from a timer'); }, 10);
}`;
    const dying = pool('dying', source);
    await runtime.start({ name: 'dying', stream: 'events', startingPosition: 'TRIM_HORIZON', handler: dying.handler });
    await log.append('events', [{ partitionKey: 'a', data: encoder.encode(JSON.stringify({ key: 'a' })) }]);
    await until(() => lines.some((l) => l.msg === 'dying'), 'the first worker to die');
    await log.append('events', [{ partitionKey: 'a', data: encoder.encode(JSON.stringify({ key: 'a' })) }]);
    await until(() => count(tables, 'a') === 2, 'the second record');
    expect(dying.size).toBe(1);
  });
});
