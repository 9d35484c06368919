/**
 * Reference tables that change while a live query runs: a CSV file rewritten under the query, and a
 * stream-backed table ('kind' = 'table') changed by appending to its changelog stream.
 */
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import type { EmbeddedStreamLog } from '../../src/log/index.ts';
import { QueryManager } from '../../src/queries/index.ts';
import type { RunningQuery } from '../../src/queries/running-query.ts';
import { openLog, readAll, tempDir, waitFor } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A manager of `threads` query threads (default: one per spare core), whose log lines go to `lines`. */
async function setup(threads?: number): Promise<{ dir: string; log: EmbeddedStreamLog; manager: () => Promise<QueryManager>; lines: Record<string, unknown>[] }> {
  const { dir, cleanup } = await tempDir('ref-tables-');
  const log = await openLog(dir);
  await log.createStream('toll_transactions', { shardCount: 1, dedupe: { mode: 'key' } });
  const managers: QueryManager[] = [];
  cleanups.push(cleanup, async () => {
    for (const m of managers) await m.close();
    await log.close();
  });
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', format: 'json', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return {
    dir,
    log,
    lines,
    manager: async () => {
      const m = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 200, referenceDir: dir, logger, ...(threads === undefined ? {} : { threads }) });
      managers.push(m);
      await m.start();
      return m;
    },
  };
}

let factId = 0;

/** Appends one toll at `plaza` and waits for its joined row in `output`. */
async function probe(log: EmbeddedStreamLog, output: string, plaza: string): Promise<Record<string, unknown>> {
  const id = `t-${++factId}`;
  const fact = { transaction_id: id, plaza_id: plaza, amount_cents: 100 };
  await log.append('toll_transactions', [{ data: Buffer.from(JSON.stringify(fact)), partitionKey: id }]);
  let row: Record<string, unknown> | undefined;
  await waitFor(async () => {
    row = (await readAll(log, output).catch(() => [])).find((r) => r.transaction_id === id);
    return row !== undefined;
  }, `the joined row of ${id}`);
  return row!;
}

/** Probes until the joined row satisfies `done` (the change reaches the query at processing time, not at once). */
async function probeUntil(log: EmbeddedStreamLog, output: string, plaza: string, done: (row: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const row = await probe(log, output, plaza);
    if (done(row)) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no joined row for ${plaza} showed the change`);
}

async function replaceFile(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

/** The rows of file table `table` that the main thread holds for running query `query`. */
function mainThreadRows(m: QueryManager, query: string, table: string): number {
  const running = (m as unknown as { running: Map<string, RunningQuery> }).running.get(query)!;
  return running.plan!.fileTables.find((t) => t.name === table)!.rows().length;
}

describe.each([
  { mode: 'on a query thread', threads: 1 },
  { mode: 'on the main thread', threads: 0 },
])('a file reference table $mode', ({ threads }) => {
  it('a rewritten CSV file changes the join for later rows; a bad rewrite keeps the old rows and reports an error', async () => {
    const { dir, log, manager, lines } = await setup(threads);
    const csv = path.join(dir, 'plazas.csv');
    await writeFile(csv, 'plaza_id,name,toll_cents\nP1,North Gate,250\nP2,River Bridge,300\n');
    const sql = `
      CREATE TABLE tolls (transaction_id VARCHAR(40), plaza_id VARCHAR(16), amount_cents BIGINT) WITH ('stream' = 'toll_transactions');
      CREATE TABLE plazas (plaza_id VARCHAR(16), name VARCHAR(32), toll_cents BIGINT)
        WITH ('format' = 'csv', 'path' = '${csv}', 'refresh-interval' = '100 ms');
      CREATE TABLE named (transaction_id VARCHAR(40), plaza VARCHAR(32), toll_cents BIGINT) WITH ('stream' = 'named_tolls');
      INSERT INTO named SELECT t.transaction_id, p.name, p.toll_cents FROM tolls t LEFT JOIN plazas p ON t.plaza_id = p.plaza_id;`;
    const m = await manager();
    await m.createQuery({ name: 'named', sql });

    expect(await probe(log, 'named_tolls', 'P1')).toMatchObject({ plaza: 'North Gate', toll_cents: 250 });
    expect(lines.filter((l) => l.msg === 'query started').map((l) => l.thread)).toEqual([threads > 0]);
    // On a thread the rows are held there only; the main thread's plan checked the file without reading it.
    expect(mainThreadRows(m, 'named', 'plazas')).toBe(threads > 0 ? 0 : 2);

    await replaceFile(csv, 'plaza_id,name,toll_cents\nP1,North Gate (rebuilt),275\nP2,River Bridge,300\nP3,Old Tunnel,400\n');
    expect(await probeUntil(log, 'named_tolls', 'P1', (r) => r.toll_cents === 275)).toMatchObject({ plaza: 'North Gate (rebuilt)' });
    // Every row after the reload sees the whole new file, a plaza that is new in it included.
    expect(await probe(log, 'named_tolls', 'P3')).toMatchObject({ plaza: 'Old Tunnel', toll_cents: 400 });
    expect(lines.find((l) => l.msg === 'reference table reloaded')).toMatchObject({ query: 'named', table: 'plazas', rows: 3 });

    // A rewrite whose values do not fit the columns is rejected whole: the rows before it stay in use.
    await replaceFile(csv, 'plaza_id,name,toll_cents\nP1,Half Written,not-a-number\n');
    await waitFor(() => (m.info('named').stats.errors ?? 0) >= 1, 'the failed reload to be counted');
    // The error row is appended to the error stream after the count goes up.
    await waitFor(async () => (await readAll(log, 'named_errors')).some((e) => e.ERROR_NAME === 'REFERENCE_RELOAD_FAILED'), 'the failed reload in the error stream');
    expect(await probe(log, 'named_tolls', 'P1')).toMatchObject({ plaza: 'North Gate (rebuilt)', toll_cents: 275 });
    expect(await probe(log, 'named_tolls', 'P3')).toMatchObject({ plaza: 'Old Tunnel', toll_cents: 400 });
    expect(lines.find((l) => l.msg === 'reference table reload failed; the previous rows stay in use')).toMatchObject({ query: 'named', table: 'plazas', path: csv });
  });
});

describe('reference tables refreshed while the query runs', () => {

  it('a stream-backed table follows its changelog: a changed record and a deletion reach later rows, and a restart reads it whole again', async () => {
    const { log, manager } = await setup();
    await log.createStream('station_reference', { shardCount: 2 });
    const change = async (record: Record<string, unknown>): Promise<void> => {
      await log.append('station_reference', [{ data: Buffer.from(JSON.stringify(record)), partitionKey: String(record.plaza_id) }]);
    };
    await change({ plaza_id: 'P1', name: 'North Gate', toll_cents: 250 });
    await change({ plaza_id: 'P2', name: 'River Bridge', toll_cents: 300 });
    const sql = `
      CREATE TABLE tolls (transaction_id VARCHAR(40), plaza_id VARCHAR(16), amount_cents BIGINT) WITH ('stream' = 'toll_transactions');
      CREATE TABLE stations (plaza_id VARCHAR(16), name VARCHAR(32), toll_cents BIGINT)
        WITH ('stream' = 'station_reference', 'kind' = 'table', 'key' = 'plaza_id');
      CREATE TABLE named (transaction_id VARCHAR(40), plaza VARCHAR(32), toll_cents BIGINT) WITH ('stream' = 'named_tolls');
      INSERT INTO named SELECT t.transaction_id, s.name, s.toll_cents FROM tolls t LEFT JOIN stations s ON t.plaza_id = s.plaza_id;`;
    const first = await manager();
    await first.createQuery({ name: 'named', sql });
    expect(await probe(log, 'named_tolls', 'P1')).toMatchObject({ plaza: 'North Gate', toll_cents: 250 });
    expect(await probe(log, 'named_tolls', 'P2')).toMatchObject({ plaza: 'River Bridge', toll_cents: 300 });

    await change({ plaza_id: 'P1', name: 'North Gate', toll_cents: 260 });
    expect(await probeUntil(log, 'named_tolls', 'P1', (r) => r.toll_cents === 260)).toMatchObject({ plaza: 'North Gate' });

    await change({ plaza_id: 'P2', _deleted: true });
    expect(await probeUntil(log, 'named_tolls', 'P2', (r) => r.plaza === null)).toMatchObject({ toll_cents: null });

    // A restart reads the changelog from TRIM_HORIZON before any fact: the first row after it sees every change.
    await first.close();
    await change({ plaza_id: 'P1', name: 'North Gate', toll_cents: 270 });
    await manager();
    expect(await probe(log, 'named_tolls', 'P1')).toMatchObject({ plaza: 'North Gate', toll_cents: 270 });
    expect(await probe(log, 'named_tolls', 'P2')).toMatchObject({ plaza: null });
  });

  it('a stream-backed table without a key is a planning error that says what to add', async () => {
    const { manager } = await setup();
    const m = await manager();
    const sql = `
      CREATE TABLE tolls (transaction_id VARCHAR(40), plaza_id VARCHAR(16)) WITH ('stream' = 'toll_transactions');
      CREATE TABLE stations (plaza_id VARCHAR(16), name VARCHAR(32)) WITH ('stream' = 'station_reference', 'kind' = 'table');
      CREATE TABLE named (transaction_id VARCHAR(40), plaza VARCHAR(32)) WITH ('stream' = 'named_tolls');
      INSERT INTO named SELECT t.transaction_id, s.name FROM tolls t JOIN stations s ON t.plaza_id = s.plaza_id;`;
    await expect(m.createQuery({ name: 'named', sql })).rejects.toThrow(/no 'key'/);
  });
});
