/**
 * A new continuous query can start at LATEST or at a time instead of the beginning of its inputs: it then
 * computes over the records that arrived from there on, and keeps that start across a restart before its
 * first checkpoint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedStreamLog } from '../../src/log/index.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { resolveStartPosition } from '../../src/queries/start-position.ts';
import { appendFlush, appendTolls, canonical, DELAY_MS, openLog, readAll, reference, SPEND_SQL, tempDir, traffic, waitFor } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ log: EmbeddedStreamLog; manager: () => QueryManager }> {
  const { dir, cleanup } = await tempDir('queries-start-');
  const log = await openLog(dir);
  await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } });
  const managers: QueryManager[] = [];
  cleanups.push(cleanup, async () => {
    for (const m of managers) await m.close();
    await log.close();
  });
  return {
    log,
    manager: () => {
      const m = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 200 });
      managers.push(m);
      return m;
    },
  };
}

/** Until the clock has moved past now: records appended after this arrive later than any appended before. */
async function nextMillisecond(): Promise<number> {
  const now = Date.now();
  while (Date.now() <= now + 1) await new Promise((r) => setTimeout(r, 2));
  return Date.now();
}

async function finishAndCompare(log: EmbeddedStreamLog, m: QueryManager, name: string, counted: readonly Record<string, unknown>[]): Promise<void> {
  const last = Math.max(...counted.map((r) => Date.parse(String(r.event_time))));
  const flush = await appendFlush(log, 'toll_transactions', last);
  await waitFor(() => m.watermarkOf(name) >= last + 60_000 - DELAY_MS, 'the watermark to pass the last window');
  await m.checkpointNow(name);
  const expected = await reference(SPEND_SQL, 'toll_transactions', [...counted, ...flush], 'customer_spend');
  expect(expected.length).toBeGreaterThan(20);
  expect(canonical(await readAll(log, 'customer_spend'))).toEqual(expected);
}

describe('the start position of a new query', () => {
  it('LATEST reads only the records that arrive after the query is created', async () => {
    const { log, manager } = await setup();
    const records = traffic(2000, 3);
    await appendTolls(log, 'toll_transactions', records.slice(0, 800));
    await nextMillisecond();
    const m = manager();
    await m.start();
    const info = await m.createQuery({ name: 'spend', sql: SPEND_SQL, startPosition: 'LATEST' });
    expect(info.startAt).not.toBeNull();
    await nextMillisecond();
    await appendTolls(log, 'toll_transactions', records.slice(800));
    await finishAndCompare(log, m, 'spend', records.slice(800));
    expect(m.info('spend').stats.lateRows).toBe(0);
  });

  it('a time reads the records that arrived at or after it', async () => {
    const { log, manager } = await setup();
    const records = traffic(2000, 4);
    await appendTolls(log, 'toll_transactions', records.slice(0, 900));
    const from = await nextMillisecond();
    await appendTolls(log, 'toll_transactions', records.slice(900, 1400));
    const m = manager();
    await m.start();
    const info = await m.createQuery({ name: 'spend', sql: SPEND_SQL, startPosition: new Date(from).toISOString() });
    expect(info.startAt).toBe(new Date(from).toISOString());
    await appendTolls(log, 'toll_transactions', records.slice(1400));
    await finishAndCompare(log, m, 'spend', records.slice(900));
  });

  it('keeps its start across a restart before the first checkpoint holds a position of every shard', async () => {
    const { log, manager } = await setup();
    const records = traffic(1600, 5);
    await appendTolls(log, 'toll_transactions', records.slice(0, 700));
    await nextMillisecond();
    const first = manager();
    await first.start();
    await first.createQuery({ name: 'spend', sql: SPEND_SQL, startPosition: 'LATEST' });
    await first.close();
    await nextMillisecond();
    await appendTolls(log, 'toll_transactions', records.slice(700));
    const second = manager();
    await second.start();
    expect(second.info('spend').state).toBe('RUNNING');
    await finishAndCompare(log, second, 'spend', records.slice(700));
  });

  it('TRIM_HORIZON, the default, reads every record kept', async () => {
    const { log, manager } = await setup();
    const records = traffic(1200, 6);
    await appendTolls(log, 'toll_transactions', records.slice(0, 600));
    const m = manager();
    await m.start();
    const info = await m.createQuery({ name: 'spend', sql: SPEND_SQL, startPosition: 'TRIM_HORIZON' });
    expect(info.startAt).toBeNull();
    await appendTolls(log, 'toll_transactions', records.slice(600));
    await finishAndCompare(log, m, 'spend', records);
  });

  it('refuses a start position it does not know, naming the forms it takes, and creates nothing', async () => {
    const { manager } = await setup();
    const m = manager();
    await m.start();
    for (const bad of ['EARLIEST', '08:00', '', { at: 1 }, -5]) {
      await expect(m.createQuery({ name: 'spend', sql: SPEND_SQL, startPosition: bad as string })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('startPosition must be TRIM_HORIZON'),
      });
    }
    expect(m.listQueries()).toEqual([]);
  });
});

describe('resolveStartPosition', () => {
  it('reads TRIM_HORIZON (also by default), LATEST, ISO 8601 times and epoch milliseconds', () => {
    expect(resolveStartPosition(undefined, 5)).toBeNull();
    expect(resolveStartPosition('trim_horizon', 5)).toBeNull();
    expect(resolveStartPosition('LATEST', 1234)).toBe(1234);
    expect(resolveStartPosition('2026-12-07T08:00:00Z', 0)).toBe(Date.UTC(2026, 11, 7, 8));
    expect(resolveStartPosition('2026-12-07T09:00:00+01:00', 0)).toBe(Date.UTC(2026, 11, 7, 8));
    expect(resolveStartPosition('1765094400000', 0)).toBe(1765094400000);
    expect(resolveStartPosition(1765094400000, 0)).toBe(1765094400000);
  });
});
