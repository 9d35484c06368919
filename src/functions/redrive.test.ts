/**
 * A batch a mapping gave up on, sent to its handler again once the handler works: every record ends up
 * processed exactly once (the records of other lanes in the same range, done the first time, are not given
 * again), and the same batch cannot be redriven into a second effect.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../tables/index.ts';
import { waitFor } from '../../test/support/wait.ts';
import { FunctionsRuntime, parseGivenUp, type FunctionHandler, type GivenUpBatch } from './index.ts';

const encoder = new TextEncoder();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-redrive-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  const tables = openTables({ path: path.join(dir, 'tables.db') });
  tables.createTable('counts', { ifNotExists: true });
  await log.createStream('events', { shardCount: 1 });
  await log.createStream('failures', { shardCount: 1 });
  cleanups.push(async () => {
    tables.close();
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { log, tables };
}

async function givenUp(log: StreamLog): Promise<GivenUpBatch[]> {
  const read = await log.read('failures', 'shardId-000000000000', { type: 'TRIM_HORIZON' });
  return read.records.map((r) => parseGivenUp(r.data)!);
}

function count(tables: Tables, key: string): number {
  return (tables.get('counts', { pk: key })?.value.count as number | undefined) ?? 0;
}

describe('redrive of a batch a function gave up on', () => {
  it('processes each given-up record once, leaves the other lanes alone, and refuses a second redrive', async () => {
    const { log, tables } = await setup();
    // Records of the key "bad" fail while `broken`; those of "ok" always succeed.
    let broken = true;
    const handler: FunctionHandler = async (event, ctx) => {
      if (broken && event.records.some((r) => r.partitionKey === 'bad')) throw new Error('the downstream service is down');
      await ctx.transact((tx) => {
        for (const r of event.records) tx.update('counts', { pk: r.partitionKey }, { add: { count: 1 } });
      });
    };
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    cleanups.push(() => runtime.stop());
    // Two workers: "bad" (lane 4) and "ok" (lane 9) go to different workers.
    await runtime.start({
      name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', parallelizationFactor: 2,
      maximumRetryAttempts: 0, retryBaseDelayMs: 1, onFailure: { stream: 'failures' }, handler,
    });
    const items = [];
    for (let i = 0; i < 6; i++) items.push({ partitionKey: i % 2 === 0 ? 'bad' : 'ok', data: encoder.encode(JSON.stringify({ i })) });
    await log.append('events', items);
    await waitFor('the bad records given up, the others counted', async () => (await givenUp(log)).length === 1 && count(tables, 'ok') === 3);
    const [batch] = await givenUp(log);
    expect(batch).toMatchObject({ mapping: 'count', stream: 'events', batchSize: 3 });
    expect(count(tables, 'bad')).toBe(0);
    expect(await runtime.wasRedriven(batch!)).toBe(false);

    // Still broken: the redrive fails, nothing is committed, and it stays a dead letter.
    const failed = await runtime.redrive(batch!).catch((err: unknown) => err);
    expect(isTollstreamError(failed, 'REDRIVE_FAILED')).toBe(true);
    expect(await runtime.wasRedriven(batch!)).toBe(false);

    broken = false;
    expect(await runtime.redrive(batch!)).toBe(3);
    expect(count(tables, 'bad')).toBe(3);
    expect(count(tables, 'ok')).toBe(3);
    expect(await runtime.wasRedriven(batch!)).toBe(true);

    const again = await runtime.redrive(batch!).catch((err: unknown) => err);
    expect(isTollstreamError(again, 'CONDITION_FAILED')).toBe(true);
    expect(count(tables, 'bad')).toBe(3);
  });

  it('gives a later redrive only the records an earlier, partial one did not commit', async () => {
    const { log, tables } = await setup();
    let mode: 'broken' | 'partial' | 'whole' = 'broken';
    const given: number[][] = [];
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    cleanups.push(() => runtime.stop());
    await runtime.start({
      name: 'count', stream: 'events', startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 0, retryBaseDelayMs: 1, onFailure: { stream: 'failures' },
      handler: async (event, ctx) => {
        if (mode === 'broken') throw new Error('not yet');
        given.push(event.records.map((r) => (JSON.parse(r.text()) as { i: number }).i));
        // The partial handler commits its first record's effect, then fails on the rest.
        const upTo = mode === 'partial' ? 1 : event.records.length;
        await ctx.transact(
          (tx) => {
            for (const r of event.records.slice(0, upTo)) tx.update('counts', { pk: `i${(JSON.parse(r.text()) as { i: number }).i}` }, { add: { count: 1 } });
          },
          { through: event.records[upTo - 1]!.sequenceNumber },
        );
        if (mode === 'partial') throw new Error('failed after the first record');
      },
    });
    await log.append('events', [0, 1, 2].map((i) => ({ partitionKey: 'k', data: encoder.encode(JSON.stringify({ i })) })));
    await waitFor('the batch given up', async () => (await givenUp(log)).length === 1);
    const [batch] = await givenUp(log);

    mode = 'partial';
    expect(isTollstreamError(await runtime.redrive(batch!).catch((err: unknown) => err), 'REDRIVE_FAILED')).toBe(true);
    expect(await runtime.wasRedriven(batch!)).toBe(false);
    mode = 'whole';
    expect(await runtime.redrive(batch!)).toBe(2);
    expect(given).toEqual([[0, 1, 2], [1, 2]]);
    expect([0, 1, 2].map((i) => count(tables, `i${i}`))).toEqual([1, 1, 1]);
    expect(await runtime.wasRedriven(batch!)).toBe(true);
  });

  it('marks a batch done for a handler that commits nothing of its own', async () => {
    const { log, tables } = await setup();
    let broken = true;
    const seen: string[] = [];
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    cleanups.push(() => runtime.stop());
    await runtime.start({
      name: 'forward', stream: 'events', startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 0, retryBaseDelayMs: 1, onFailure: { stream: 'failures' },
      handler: (event) => {
        if (broken) throw new Error('not yet');
        for (const r of event.records) seen.push(r.text());
      },
    });
    await log.append('events', [{ partitionKey: 'k', data: encoder.encode('one') }, { partitionKey: 'k', data: encoder.encode('two') }]);
    await waitFor('the batch given up', async () => (await givenUp(log)).length === 1);
    broken = false;
    const [batch] = await givenUp(log);
    expect(await runtime.redrive(batch!)).toBe(2);
    expect(seen).toEqual(['one', 'two']);
    expect(isTollstreamError(await runtime.redrive(batch!).catch((err: unknown) => err), 'CONDITION_FAILED')).toBe(true);
    expect(seen).toEqual(['one', 'two']);
  });
});
