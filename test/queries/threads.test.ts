import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import type { EmbeddedStreamLog, StreamLog } from '../../src/log/index.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { appendFlush, appendTolls, canonical, DELAY_MS, openLog, readAll, reference, SPEND_SQL, tempDir, traffic, waitFor } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ dir: string; log: EmbeddedStreamLog }> {
  const { dir, cleanup } = await tempDir('queries-threads-');
  const log = await openLog(dir);
  await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } });
  cleanups.push(cleanup, () => log.close());
  return { dir, log };
}

/** A manager whose log lines are kept, to see where its queries ran. */
function managerOf(log: StreamLog, dir: string, threads: number): { manager: QueryManager; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', format: 'json', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const manager = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 200, threads, logger });
  cleanups.push(() => manager.close());
  return { manager, lines };
}

/** Every record of a stream as "partition key, data" (the output's partitioning is part of what it promises). */
async function keyedRecords(log: StreamLog, stream: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of (await log.describeStream(stream)).shards) {
    let from: Parameters<StreamLog['read']>[2] = { type: 'TRIM_HORIZON' };
    for (;;) {
      const r = await log.read(stream, shard.shardId, from, { maxRecords: 10_000 });
      for (const rec of r.records) out.push(`${rec.partitionKey} ${Buffer.from(rec.data).toString('utf8')}`);
      if (r.records.length === 0 || r.next === null) break;
      from = r.next;
    }
  }
  return out.sort();
}

const startedOnThread = (lines: Record<string, unknown>[], query: string) => lines.filter((l) => l.msg === 'query started' && l.query === query).map((l) => l.thread);

describe('continuous queries on query threads', () => {
  it('a query on a thread writes the rows, partitioned alike, that it writes on the main thread and the file run computes', async () => {
    const records = traffic(3000, 5);
    const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
    const outputs: string[][] = [];
    for (const threads of [1, 0]) {
      const { dir, log } = await setup();
      await appendTolls(log, 'toll_transactions', records.slice(0, 1500));
      const { manager, lines } = managerOf(log, dir, threads);
      await manager.start();
      await manager.createQuery({ name: 'spend', sql: SPEND_SQL });
      await appendTolls(log, 'toll_transactions', records.slice(1500));
      const flush = await appendFlush(log, 'toll_transactions', last);
      await waitFor(() => manager.watermarkOf('spend') >= last + 60_000 - DELAY_MS, 'the last window');
      await manager.checkpointNow('spend');
      expect(startedOnThread(lines, 'spend')).toEqual([threads > 0]);
      const stats = manager.info('spend').stats;
      expect(stats.rowsInTotal).toBe(records.length + flush.length);
      expect(stats.lastCheckpoint).not.toBeNull();
      expect(canonical(await readAll(log, 'customer_spend'))).toEqual(await reference(SPEND_SQL, 'toll_transactions', [...records, ...flush], 'customer_spend'));
      outputs.push(await keyedRecords(log, 'customer_spend'));
    }
    expect(outputs[0]!.length).toBeGreaterThan(100);
    expect(outputs[0]).toEqual(outputs[1]);
  });

  it('a checkpoint taken on a thread restores on the main thread and back: every update of a GROUP BY is written once', async () => {
    const { dir, log } = await setup();
    const sql = `
CREATE TABLE tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'toll_transactions');
CREATE TABLE running_spend (customer_id VARCHAR(16), trips BIGINT, total_cents BIGINT) WITH ('stream' = 'running_spend');
INSERT INTO running_spend SELECT customer_id, COUNT(*), SUM(amount_cents) FROM tolls GROUP BY customer_id;`;
    const records = traffic(2400, 23);
    const where: unknown[] = [];
    // Thread, main thread, thread: each run takes in its part and stops with a checkpoint the next one restores.
    for (const [i, threads] of [1, 0, 1].entries()) {
      await appendTolls(log, 'toll_transactions', records.slice(i * 800, (i + 1) * 800));
      const { manager, lines } = managerOf(log, dir, threads);
      await manager.start();
      if (i === 0) expect((await manager.createQuery({ name: 'running', sql })).outputs[0]!.keyMode).toBe('group');
      await waitFor(() => manager.info('running').stats.rowsInTotal >= 800, `the records of run ${i + 1} taken in`);
      await waitFor(async () => (await readAll(log, 'running_spend')).length >= (i + 1) * 800, `the updates of run ${i + 1} written`);
      await manager.close();
      where.push(...startedOnThread(lines, 'running'));
    }
    expect(where).toEqual([true, false, true]);
    expect(canonical(await readAll(log, 'running_spend'))).toEqual(await reference(sql, 'toll_transactions', records, 'running_spend'));
  });
});
