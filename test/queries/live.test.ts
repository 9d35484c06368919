import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedStreamLog } from '../../src/log/index.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { appendFlush, appendTolls, canonical, DELAY_MS, FLUSH_CUSTOMER, openLog, readAll, reference, SPEND_SQL, tempDir, traffic, waitFor } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(shards = 2): Promise<{ dir: string; log: EmbeddedStreamLog; manager: () => QueryManager }> {
  const { dir, cleanup } = await tempDir('queries-');
  const log = await openLog(dir);
  await log.createStream('toll_transactions', { shardCount: shards, dedupe: { mode: 'key' } });
  const managers: QueryManager[] = [];
  cleanups.push(cleanup, async () => {
    for (const m of managers) await m.close();
    await log.close();
  });
  return {
    dir,
    log,
    manager: () => {
      const m = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 200 });
      managers.push(m);
      return m;
    },
  };
}

async function finish(m: QueryManager, name: string, flushAt: number): Promise<void> {
  await waitFor(() => m.watermarkOf(name) >= flushAt + 60_000 - DELAY_MS, 'the watermark to pass the last window');
  await m.checkpointNow(name);
}

describe('continuous queries on the live log', () => {
  it('per-customer spend per 10-second window: the output stream equals the file run, row for row', async () => {
    const { log, manager } = await setup();
    const records = traffic(3000);
    await appendTolls(log, 'toll_transactions', records.slice(0, 1000));
    const m = manager();
    await m.start();
    const info = await m.createQuery({ name: 'spend', sql: SPEND_SQL });
    expect(info.state).toBe('RUNNING');
    expect(info.outputs).toEqual([{ name: 'customer_spend', stream: 'customer_spend', keyMode: 'window', partitionKey: ['customer_id'] }]);
    await appendTolls(log, 'toll_transactions', records.slice(1000));
    const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
    const flush = await appendFlush(log, 'toll_transactions', last);
    await finish(m, 'spend', last);

    const out = await readAll(log, 'customer_spend');
    const expected = await reference(SPEND_SQL, 'toll_transactions', [...records, ...flush], 'customer_spend');
    expect(expected.length).toBeGreaterThan(100);
    expect(canonical(out)).toEqual(expected);
    const stats = m.info('spend').stats;
    expect(stats.rowsInTotal).toBe(records.length + flush.length);
    expect(stats.lateRows).toBe(0);
    expect(stats.lastCheckpoint).not.toBeNull();
    expect(await m.explain('spend')).toContain('TumblingWindowAggregate');
  });
});
