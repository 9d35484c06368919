/** Functions on streams that KPL producers write: handlers see user records, never the aggregate. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { aggregateWithBadDigest, encodeAggregate } from '../../test/support/kpl-aggregate.ts';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { openTables, sqliteTableStore } from '../tables/index.ts';
import { FunctionsRuntime, type FunctionHandler } from './index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-fn-kpl-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  const tables = openTables({ path: path.join(dir, 'tables.db') });
  tables.createTable('seen', { sortKey: true, ifNotExists: true });
  await log.createStream('events', { shardCount: 1 });
  await log.createStream('failures', { shardCount: 1 });
  cleanups.push(async () => {
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const seen = () => tables.query('seen', 'all', { limit: 1000 }).items;
  const seenOne = (id: string) => tables.get('seen', { pk: 'all', sk: id });
  return { log, tables, seen, seenOne };
}

/** Aggregate `a` of user records a.0 .. a.(size-1), keyed round-robin over three partition keys. */
function aggregate(a: number, size: number) {
  return encodeAggregate(Array.from({ length: size }, (_, i) => ({ partitionKey: `key-${i % 3}`, data: JSON.stringify({ id: `${a}.${i}` }) })));
}

async function putAggregates(log: StreamLog, from: number, to: number, size: number) {
  for (let a = from; a < to; a++) await log.append('events', [{ partitionKey: `outer-${a}`, data: aggregate(a, size) }]);
}

/** Records each user record in the `seen` table (one row per id, a counter), with its key and sub-sequence number. */
const recording: FunctionHandler = (event, ctx) => {
  ctx.transact((tx) => {
    for (const r of event.records) {
      const { id } = r.json<{ id: string }>();
      tx.update('seen', { pk: 'all', sk: id }, { set: { partitionKey: r.partitionKey, sub: r.subSequenceNumber ?? null, seq: r.sequenceNumber }, add: { times: 1 } });
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

describe('functions on KPL aggregated records', () => {
  it('hands each user record to the handler once, with its own partition key and sub-sequence number, across a restart', async () => {
    const { log, tables, seen, seenOne } = await setup();
    const seenCount = () => seen().length;
    const first = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    // batchSize counts Kinesis records: one aggregate (5 user records) per invocation.
    await first.start({ name: 'rec', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 1, handler: recording });
    await putAggregates(log, 0, 6, 5);
    await until(() => seenCount() >= 10, 'some user records');
    await first.stop();
    await putAggregates(log, 6, 10, 5);
    const second = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await second.start({ name: 'rec', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 3, handler: recording });
    await until(() => seenCount() === 50, 'all 50 user records');
    await second.stop();

    const rows = seen();
    expect(rows.every((r) => r.value.times === 1)).toBe(true);
    for (let a = 0; a < 10; a++) {
      for (let i = 0; i < 5; i++) {
        const row = seenOne(`${a}.${i}`);
        expect(row?.value).toMatchObject({ partitionKey: `key-${i % 3}`, sub: i });
      }
      // Every user record of one aggregate carries the aggregate's sequence number.
      expect(new Set([0, 1, 2, 3, 4].map((i) => seenOne(`${a}.${i}`)!.value.seq)).size).toBe(1);
    }
  });

  it('sends a malformed aggregate to the on-failure destination, named as such, and goes on', async () => {
    const { log, tables, seen, seenOne } = await setup();
    await putAggregates(log, 0, 1, 4);
    await log.append('events', [{ partitionKey: 'broken', data: aggregateWithBadDigest([{ partitionKey: 'x', data: '{"id":"lost"}' }]) }]);
    await putAggregates(log, 1, 2, 4);
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({ name: 'rec', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 10, handler: recording, onFailure: { stream: 'failures' } });
    await until(() => seen().length === 8, 'the 8 good user records');
    const shard = (await log.describeStream('failures')).shards[0]!.shardId;
    let failures: Record<string, any>[] = [];
    for (let i = 0; i < 100 && failures.length === 0; i++) {
      failures = (await log.read('failures', shard, { type: 'TRIM_HORIZON' })).records.map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')));
      if (failures.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(runtime.stats().find((s) => s.name === 'rec')).toMatchObject({ recordsSentToOnFailure: 1 });
    await runtime.stop();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ requestContext: { condition: expect.stringMatching(/^malformed KPL aggregated record: .*MD5/) }, batchSize: 1 });
    expect(seenOne('lost')).toBeUndefined();
  });

  it('bisects a failing batch between aggregates, never inside one', async () => {
    const { log, tables } = await setup();
    // Four aggregates of three user records, all of one key (one lane); one user record of the third is poison.
    for (let a = 0; a < 4; a++) {
      const users = [0, 1, 2].map((i) => ({ partitionKey: 'q', data: JSON.stringify({ id: `${a}.${i}`, poison: a === 2 && i === 2 }) }));
      await log.append('events', [{ partitionKey: `outer-${a}`, data: encodeAggregate(users) }]);
    }
    const done: string[] = [];
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    await runtime.start({
      name: 'poison', stream: 'events', startingPosition: 'TRIM_HORIZON', batchSize: 4,
      maximumRetryAttempts: 0, bisectBatchOnFunctionError: true, retryBaseDelayMs: 1, onFailure: { stream: 'failures' },
      handler: (event, ctx) => {
        const items = event.records.map((r) => r.json<{ id: string; poison: boolean }>());
        if (items.some((i) => i.poison)) throw new Error('cannot handle poison');
        ctx.transact(() => done.push(...items.map((i) => i.id)));
      },
    });
    await until(() => runtime.stats()[0]!.recordsSentToOnFailure > 0 && done.length >= 9, 'the poison aggregate isolated');
    const sentToOnFailure = runtime.stats()[0]!.recordsSentToOnFailure;
    await runtime.stop();
    // The aggregate holding the poison record is given up whole: its lane checkpoint (its sequence number) can
    // never stand between its user records.
    expect(done.sort()).toEqual(['0.0', '0.1', '0.2', '1.0', '1.1', '1.2', '3.0', '3.1', '3.2']);
    expect(sentToOnFailure).toBe(3);
  });
});
