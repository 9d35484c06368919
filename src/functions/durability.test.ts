/**
 * Function commits skip the disk flush unless they publish a notification. What makes that safe: a power loss
 * can only roll back whole function commits, state together with checkpoint, and the records are then
 * delivered again, giving the same state.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { openNotify } from '../notify/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../tables/index.ts';
import { tablesInternals } from '../tables/internal.ts';
import { FunctionsRuntime, type FunctionHandler } from './index.ts';

const encoder = new TextEncoder();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-fn-flush-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  await log.createStream('events', { shardCount: 2 });
  const open: Tables[] = [];
  cleanups.push(async () => {
    for (const t of open) t.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const openDb = (file: string) => {
    const tables = openTables({ path: path.join(dir, file) });
    tables.createTable('counts', { ifNotExists: true });
    open.push(tables);
    return tables;
  };
  return { dir, log, openDb };
}

async function put(log: StreamLog, items: Array<{ key: string; n: number; alert?: boolean }>) {
  await log.append('events', items.map((i) => ({ partitionKey: i.key, data: encoder.encode(JSON.stringify(i)) })));
}

/** Counts each record into `counts` by key; a record marked `alert` also publishes a notification. */
const countingHandler: FunctionHandler = (event, ctx) => {
  ctx.transact((tx) => {
    for (const r of event.records) {
      const { key, n, alert } = r.json<{ key: string; n: number; alert?: boolean }>();
      tx.update('counts', { pk: key }, { add: { count: 1 } });
      if (alert) tx.publish('alerts', { key, n }, { idempotencyKey: `alert-${key}-${n}` });
    }
  });
};

async function until(check: () => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function counts(tables: Tables, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, tables.get('counts', { pk: k })?.value.count ?? 0]));
}

function total(tables: Tables, keys: readonly string[]): number {
  return Object.values(counts(tables, keys)).reduce((sum: number, c) => sum + (c as number), 0);
}

const mapping = { name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 4, handler: countingHandler } as const;
const keys = ['a', 'b', 'c', 'd'];

describe('function commits and the disk flush', () => {
  it('commits state without a flush, and flushes a commit that publishes a notification', async () => {
    const { log, openDb } = await setup();
    const tables = openDb('tables.db');
    openNotify({ tables }).createTopic('alerts');
    const stats = tablesInternals(tables).stats;
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start(mapping);

    const quiet = { ...stats };
    for (let n = 0; n < 3; n++) await put(log, keys.map((key) => ({ key, n })));
    await until(() => total(tables, keys) === 12, 'the state-only records');
    expect(stats.flushedCommits).toBe(quiet.flushedCommits);
    expect(stats.unflushedCommits).toBeGreaterThan(quiet.unflushedCommits);

    const loud = { ...stats };
    await put(log, [{ key: 'a', n: 3, alert: true }]);
    await until(() => total(tables, keys) === 13, 'the publishing record');
    await runtime.stop();
    expect(stats.flushedCommits).toBe(loud.flushedCommits + 1);
  });

  it('redoes commits a power loss rolled back from the log, ending with the same state and no double count', async () => {
    const { dir, log, openDb } = await setup();
    let tables = openDb('tables.db');
    let runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start(mapping);
    for (let n = 0; n < 3; n++) await put(log, keys.map((key) => ({ key, n })));
    await until(() => total(tables, keys) === 12, 'the first records');
    await runtime.stop();
    tables.close();
    // The database as a power loss could leave it: without the commits that follow (unflushed ones).
    fs.copyFileSync(path.join(dir, 'tables.db'), path.join(dir, 'before-loss.db'));

    tables = openDb('tables.db');
    runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start(mapping);
    for (let n = 3; n < 6; n++) await put(log, keys.map((key) => ({ key, n })));
    await until(() => total(tables, keys) === 24, 'the later records');
    await runtime.stop();
    const expected = counts(tables, keys);

    const restored = openDb('before-loss.db');
    expect(total(restored, keys)).toBe(12);
    runtime = new FunctionsRuntime({ log, store: sqliteTableStore(restored) });
    await runtime.start(mapping);
    await until(() => total(restored, keys) >= 24, 'the rolled-back records delivered again');
    const redelivered = runtime.stats()[0]!;
    await runtime.stop();
    expect(counts(restored, keys)).toEqual(expected);
    expect(redelivered.recordsProcessed).toBe(12);
  });
});
