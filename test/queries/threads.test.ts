import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import type { EmbeddedStreamLog, StreamLog } from '../../src/log/index.ts';
import { Registry } from '../../src/metrics/index.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { appendFlush, appendTolls, canonical, DELAY_MS, NAMED_TOLLS_SQL, openLog, readAll, RECENT_SPEND_SQL, reference, SPEND_SQL, tempDir, traffic, waitFor } from './support.ts';

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
function managerOf(log: StreamLog, dir: string, threads: number, more: Partial<ConstructorParameters<typeof QueryManager>[0]> = {}): { manager: QueryManager; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', format: 'json', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const manager = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 200, threads, logger, ...more });
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

/** Every toll updates its customer's running totals: one output row per input record, keyed by customer and count. */
const RUNNING_SQL = `
CREATE TABLE tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'toll_transactions');
CREATE TABLE running_spend (customer_id VARCHAR(16), trips BIGINT, total_cents BIGINT) WITH ('stream' = 'running_spend');
INSERT INTO running_spend SELECT customer_id, COUNT(*), SUM(amount_cents) FROM tolls GROUP BY customer_id;`;

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
    const sql = RUNNING_SQL;
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

  it('an OVER window\'s state reaches its checkpoint as bytes the main thread never opens, and restores, on a thread or not, to the rows of one run', async () => {
    const { dir, log } = await setup();
    const sql = RECENT_SPEND_SQL;
    const records = traffic(2400, 43);
    const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
    // What a query thread sends the main thread at each barrier, as the main thread receives it.
    // (A state's bytes are counted on arrival: the main thread moves the buffer on to the checkpoint thread.)
    const snapshots: { state: unknown; sink: unknown; bytes: number }[] = [];
    const watch = (w: Worker) =>
      w.on('message', (m: { op?: string; state: unknown; sink: unknown }) => {
        if (m.op === 'snapshot') snapshots.push({ state: m.state, sink: m.sink, bytes: m.state instanceof Uint8Array ? m.state.byteLength : 0 });
      });
    const where: unknown[] = [];
    // Thread, main thread, thread: each run stops with a checkpoint the next one restores.
    for (const [i, threads] of [1, 0, 1].entries()) {
      await appendTolls(log, 'toll_transactions', records.slice(i * 800, (i + 1) * 800));
      const { manager, lines } = managerOf(log, dir, threads, { threadOptions: { onThread: watch } });
      await manager.start();
      if (i === 0) await manager.createQuery({ name: 'recent', sql });
      await waitFor(() => manager.info('recent').stats.rowsInTotal >= 800, `the records of run ${i + 1} taken in`);
      if (i === 2) {
        await appendFlush(log, 'toll_transactions', last);
        await waitFor(async () => (await readAll(log, 'recent_spend')).length >= records.length, 'every toll written');
      }
      await manager.checkpointNow('recent');
      await manager.close();
      where.push(...startedOnThread(lines, 'recent'));
    }
    expect(where).toEqual([true, false, true]);
    // Rows of every run, each once, as one run over all the input writes them.
    const flush = (await readAll(log, 'toll_transactions')).filter((r) => String(r.transaction_id).startsWith('flush-'));
    const rows = canonical(await readAll(log, 'recent_spend'));
    expect(rows).toEqual(await reference(sql, 'toll_transactions', [...records, ...flush], 'recent_spend'));
    expect(rows.length).toBeGreaterThanOrEqual(records.length);
    // Every state and key counter crossed as bytes: nothing on the main thread decoded it, and the window's rows are in them.
    expect(snapshots.length).toBeGreaterThan(4);
    for (const s of snapshots) {
      expect(s.state).toBeInstanceOf(Uint8Array);
      if (s.sink !== undefined) expect(s.sink).toBeInstanceOf(Uint8Array);
    }
    expect(Math.max(...snapshots.map((s) => s.bytes))).toBeGreaterThan(10_000);
  });

  it('a query whose thread is ended mid-run starts again from its last checkpoint on a new thread, and writes every update once', async () => {
    const { dir, log } = await setup();
    const workers: Worker[] = [];
    // Checkpoints only when asked, so the thread dies with rows appended past the last one.
    const { manager, lines } = managerOf(log, dir, 1, { checkpointIntervalMs: 600_000, threadOptions: { onThread: (w) => workers.push(w) } });
    await manager.start();
    await manager.createQuery({ name: 'running', sql: RUNNING_SQL });
    const records = traffic(2400, 31);
    const taken = async (n: number, what: string) => {
      await waitFor(() => manager.info('running').stats.rowsInTotal >= n, `${what}: records taken in`);
      await waitFor(async () => (await readAll(log, 'running_spend')).length >= n, `${what}: updates written`);
    };
    await appendTolls(log, 'toll_transactions', records.slice(0, 1000));
    await taken(1000, 'first part');
    await manager.checkpointNow('running');
    await appendTolls(log, 'toll_transactions', records.slice(1000, 1600));
    await taken(1600, 'second part');
    expect(workers).toHaveLength(1);

    await workers[0]!.terminate();
    await waitFor(() => workers.length === 2 && manager.info('running').state === 'RUNNING', 'the query running again on a new thread');
    const crash = lines.find((l) => l.msg === 'query thread crashed; restarting the query from its last checkpoint');
    expect(crash).toMatchObject({ query: 'running', restart: 1, of: 3, err: expect.objectContaining({ code: 'QUERY_THREAD_CRASHED' }) });
    expect(manager.info('running').error).toBeNull();
    expect(startedOnThread(lines, 'running')).toEqual([true, true]);

    await appendTolls(log, 'toll_transactions', records.slice(1600));
    // The new run reads on from the checkpoint, at record 1000.
    await taken(2400 - 1000, 'third part after the restart');
    await waitFor(async () => (await readAll(log, 'running_spend')).length >= 2400, 'every update written');
    // The 600 updates between the checkpoint and the crash were produced twice, with the same keys: stored once.
    expect(canonical(await readAll(log, 'running_spend'))).toEqual(await reference(RUNNING_SQL, 'toll_transactions', records, 'running_spend'));
  });

  it('a query whose state outgrows its thread\'s heap limit is restarted a bounded number of times, then left FAILED with the reason', async () => {
    const { dir, log } = await setup();
    const { manager, lines } = managerOf(log, dir, 1, { threadRestarts: 1, threadOptions: { memoryMiB: 24 } });
    await manager.start();
    // One group per toll, never closed: the state grows with every record.
    const sql = `
CREATE TABLE tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'toll_transactions');
CREATE TABLE per_toll (transaction_id VARCHAR(40), n BIGINT) WITH ('stream' = 'per_toll');
INSERT INTO per_toll SELECT transaction_id, COUNT(*) FROM tolls GROUP BY transaction_id;`;
    await manager.createQuery({ name: 'per-toll', sql });
    await appendTolls(log, 'toll_transactions', traffic(100_000, 37), 1000);
    await waitFor(() => manager.info('per-toll').state === 'FAILED', 'the query failed', 120_000);
    const info = manager.info('per-toll');
    expect(info.error).toEqual({ code: 'QUERY_THREAD_CRASHED', message: expect.stringContaining('ran out of memory (queries.threadMemoryMiB 24)') });
    expect(lines.filter((l) => l.msg === 'query thread crashed; restarting the query from its last checkpoint')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'query thread crashed again; the query is not restarted')).toHaveLength(1);
    // The restart either runs for a while and crashes again, or crashes already restoring its last checkpoint
    // (the state it had grown fills the heap again before 'query started'): both are the second crash.
    const starts = startedOnThread(lines, 'per-toll');
    expect(starts[0]).toBe(true);
    expect(starts.length + lines.filter((l) => l.msg === 'query could not start' && l.query === 'per-toll').length).toBe(2);
    const registry = new Registry();
    manager.registerMetrics(registry);
    const exposition = await registry.renderAsync();
    expect(exposition).toContain('tollstream_query_thread_restarts_total{query="per-toll"} 1');
    expect(exposition).toContain('tollstream_query_running{query="per-toll"} 0');
    // The process and the pool go on: a query started now runs on a new thread.
    await manager.createQuery({ name: 'running', sql: RUNNING_SQL, startPosition: 'LATEST' });
    await appendTolls(log, 'toll_transactions', traffic(50, 41));
    await waitFor(async () => (await readAll(log, 'running_spend')).length === 50, 'the new query to run');
    expect(manager.info('running').state).toBe('RUNNING');
  }, 180_000);

  it('a stream-backed reference table held on the thread joins its rows and reports the records it cannot apply, named by position', async () => {
    const { dir, log } = await setup();
    await log.createStream('station_reference', { shardCount: 1 });
    const change = async (row: unknown) => (await log.append('station_reference', [{ data: Buffer.from(JSON.stringify(row)), partitionKey: 'stations' }]))[0]!;
    await change({ plaza_id: 'P1', name: 'North Gate' });
    const bad = await change({ plaza_id: null, name: 'Nowhere' });
    await change({ plaza_id: 'P2', name: 'River Bridge' });
    const { manager, lines } = managerOf(log, dir, 1);
    await manager.start();
    await manager.createQuery({
      name: 'named',
      sql: NAMED_TOLLS_SQL,
    });
    await appendTolls(log, 'toll_transactions', [
      { transaction_id: 't1', customer_id: 'C1', plaza_id: 'P1' },
      { transaction_id: 't2', customer_id: 'C1', plaza_id: 'P2' },
    ]);
    await waitFor(async () => (await readAll(log, 'named_tolls')).length === 2, 'both tolls joined');
    expect(canonical(await readAll(log, 'named_tolls'))).toEqual(canonical([{ transaction_id: 't1', plaza: 'North Gate' }, { transaction_id: 't2', plaza: 'River Bridge' }]));
    expect(startedOnThread(lines, 'named')).toEqual([true]);
    expect(lines.filter((l) => l.msg === 'reference record ignored')).toEqual([
      expect.objectContaining({ query: 'named', table: 'stations', sequenceNumber: bad.ok ? bad.sequenceNumber : 'none', problem: expect.any(String) }),
    ]);
    expect(lines.find((l) => l.msg === 'reference table loaded')).toMatchObject({ table: 'stations', records: 3 });
  });
});
