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
    expect(info.outputs).toMatchObject([{ name: 'customer_spend', stream: 'customer_spend', keyMode: 'window', partitionKey: ['customer_id'] }]);
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

  it('a restart in the middle of the stream gives the output of an uninterrupted run: no row twice, none missing', async () => {
    const { log, manager } = await setup();
    const records = traffic(4000, 11);
    await appendTolls(log, 'toll_transactions', records.slice(0, 1500));
    const first = manager();
    await first.start();
    await first.createQuery({ name: 'spend', sql: SPEND_SQL });
    await appendTolls(log, 'toll_transactions', records.slice(1500, 2500));
    await waitFor(() => first.info('spend').stats.rowsInTotal >= 2000, 'the first run to take in records');
    await first.close();
    const before = (await readAll(log, 'customer_spend')).length;
    expect(before).toBeGreaterThan(0);

    await appendTolls(log, 'toll_transactions', records.slice(2500));
    const second = manager();
    await second.start();
    expect(second.info('spend').state).toBe('RUNNING');
    const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
    const flush = await appendFlush(log, 'toll_transactions', last);
    await finish(second, 'spend', last);

    const out = await readAll(log, 'customer_spend');
    expect(canonical(out)).toEqual(await reference(SPEND_SQL, 'toll_transactions', [...records, ...flush], 'customer_spend'));
  });

  it('a stopped query stays stopped across a restart and resumes from its checkpoint', async () => {
    const { log, manager } = await setup();
    const records = traffic(1500, 5);
    await appendTolls(log, 'toll_transactions', records.slice(0, 700));
    const m = manager();
    await m.start();
    await m.createQuery({ name: 'spend', sql: SPEND_SQL });
    await waitFor(() => m.info('spend').stats.rowsInTotal >= 700, 'rows taken in');
    expect((await m.stopQuery('spend')).state).toBe('STOPPED');
    await m.close();
    await appendTolls(log, 'toll_transactions', records.slice(700));

    const again = manager();
    await again.start();
    expect(again.listQueries().map((q) => [q.name, q.state])).toEqual([['spend', 'STOPPED']]);
    await again.resumeQuery('spend');
    const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
    const flush = await appendFlush(log, 'toll_transactions', last);
    await finish(again, 'spend', last);
    expect(canonical(await readAll(log, 'customer_spend'))).toEqual(await reference(SPEND_SQL, 'toll_transactions', [...records, ...flush], 'customer_spend'));

    await again.dropQuery('spend');
    expect(again.listQueries()).toEqual([]);
    expect(() => again.info('spend')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('runs a Kinesis Analytics application live: STEP over ROWTIME, which is the log arrival time', async () => {
    const { log, manager } = await setup(1);
    const sql = `
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("customer_id" VARCHAR(16), "window_start" TIMESTAMP, "trips" BIGINT, "total_cents" BIGINT);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "customer_id", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND), COUNT(*), SUM("amount_cents")
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "customer_id", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' SECOND);`;
    const records = traffic(900, 3);
    await appendTolls(log, 'toll_transactions', records.slice(0, 300));
    const m = manager();
    await m.start();
    const info = await m.createQuery({ name: 'kda', sql, input: 'toll_transactions', outputs: { DESTINATION_SQL_STREAM: 'kda_spend' } });
    expect(info.inputs).toEqual([{ name: 'SOURCE_SQL_STREAM_001', stream: 'toll_transactions' }]);
    expect(info.outputs[0]).toMatchObject({ stream: 'kda_spend', keyMode: 'window', partitionKey: ['customer_id'] });
    await new Promise((r) => setTimeout(r, 1100));
    await appendTolls(log, 'toll_transactions', records.slice(300, 600));
    await new Promise((r) => setTimeout(r, 1100));
    await appendTolls(log, 'toll_transactions', records.slice(600));
    await new Promise((r) => setTimeout(r, 1100));
    await appendTolls(log, 'toll_transactions', [{ transaction_id: 'last', customer_id: FLUSH_CUSTOMER, plaza_id: 'P0', amount_cents: 0, event_time: records[0]!.event_time }]);
    // Every window before the last record's arrival second is closed by its ROWTIME.
    const stored = (await readAll(log, 'toll_transactions')).length;
    expect(stored).toBe(901);
    await waitFor(() => m.info('kda').stats.rowsInTotal === 901, 'every record taken in');
    await m.checkpointNow('kda');

    // The file run over the same records with their log arrival times as ROWTIME.
    const desc = await log.describeStream('toll_transactions');
    const withArrival: Record<string, unknown>[] = [];
    const r = await log.read('toll_transactions', desc.shards[0]!.shardId, { type: 'TRIM_HORIZON' });
    for (const rec of r.records) withArrival.push({ ...JSON.parse(Buffer.from(rec.data).toString('utf8')), _arrival_time: rec.arrivalTime });
    const lastSecond = Math.floor(withArrival.at(-1)!._arrival_time as number / 1000) * 1000;
    const expected = (await reference(sql, 'SOURCE_SQL_STREAM_001', withArrival, 'DESTINATION_SQL_STREAM'))
      .filter((row) => Date.parse(JSON.parse(row).window_start) < lastSecond);
    expect(expected.length).toBeGreaterThan(40);
    expect(canonical(await readAll(log, 'kda_spend'))).toEqual(expected);
  });

  it('an undeclared input whose numbers are written 1.0 is read as DOUBLE, as the file run reads it: a division keeps its fraction', async () => {
    const { log, manager } = await setup(1);
    await log.createStream('stocks', { shardCount: 1 });
    // The bytes as a producer wrote them: JSON.parse alone would see 1 and 5, whole numbers.
    const lines = ['{"ticker_symbol":"QXZ","change":1.0,"price":5.0}', '{"ticker_symbol":"ASD","change":-2.0,"price":8.0}'];
    await log.append('stocks', lines.map((line) => ({ data: Buffer.from(line), partitionKey: 'stocks' })));
    const sql = `
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(10), ratio DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM ticker_symbol, change / price AS ratio FROM "SOURCE_SQL_STREAM_001";`;
    const m = manager();
    await m.start();
    await m.createQuery({ name: 'ratios', sql, input: 'stocks', outputs: { DESTINATION_SQL_STREAM: 'ratios' } });
    await waitFor(async () => (await readAll(log, 'ratios')).length >= 2, 'both rows written');
    const rows = (await readAll(log, 'ratios')).map((r) => [r.ticker_symbol ?? r.TICKER_SYMBOL, r.ratio ?? r.RATIO]);
    expect(rows).toEqual([['QXZ', 0.2], ['ASD', -0.25]]);
  });

  it('late rows go to <query>_errors in the Kinesis error shape', async () => {
    const { log, manager } = await setup(1);
    const records = traffic(600, 9);
    await appendTolls(log, 'toll_transactions', records);
    const m = manager();
    await m.start();
    await m.createQuery({ name: 'spend', sql: SPEND_SQL });
    await waitFor(() => m.info('spend').stats.rowsInTotal === 600, 'rows taken in');
    const late = { transaction_id: 'late-1', customer_id: 'C0000001', plaza_id: 'P1', amount_cents: 500, event_time: records[0]!.event_time };
    await appendTolls(log, 'toll_transactions', [late]);
    await waitFor(() => m.info('spend').stats.lateRows === 1, 'the late row');
    await m.checkpointNow('spend');
    const errors = await readAll(log, 'spend_errors');
    expect(errors).toEqual([
      {
        ERROR_TIME: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        ERROR_LEVEL: 'ERROR',
        ERROR_NAME: 'LATE_ROW',
        MESSAGE: expect.stringContaining('is behind the watermark'),
        DATA_ROW: JSON.stringify(late),
        PUMP_NAME: 'INSERT INTO customer_spend',
      },
    ]);
    expect(m.info('spend').errorStream).toBe('spend_errors');
  });

  it('a bad SQL fails createQuery with the SQL error and its line and column; a missing input stream is named', async () => {
    const { manager } = await setup();
    const m = manager();
    await m.start();
    await expect(m.createQuery({ name: 'bad', sql: 'CREATE TABLE t (a BIGINT) WITH (\'stream\' = \'toll_transactions\');\nINSERT INTO x SELEC a FROM t;' })).rejects.toMatchObject({
      code: 'SQL_SYNTAX',
      message: expect.stringMatching(/^line 2, column \d+/),
    });
    await expect(m.createQuery({ name: 'plan', sql: SPEND_SQL.replace('SUM(amount_cents)', 'SUM(amount)') })).rejects.toMatchObject({
      code: 'SQL_PLAN',
      message: expect.stringMatching(/line \d+, column \d+: .*amount/),
    });
    await expect(m.createQuery({ name: 'missing', sql: SPEND_SQL.replace("'stream' = 'toll_transactions'", "'stream' = 'no_such_stream'") })).rejects.toMatchObject({
      code: 'STREAM_NOT_FOUND',
      message: expect.stringContaining('reads stream "no_such_stream", which does not exist'),
    });
    await expect(m.createQuery({ name: 'kda', sql: 'CREATE OR REPLACE STREAM "D" ("n" BIGINT); CREATE OR REPLACE PUMP "P" AS INSERT INTO "D" SELECT STREAM COUNT(*) FROM "SOURCE_SQL_STREAM_001" GROUP BY STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL \'1\' MINUTE);' })).rejects.toMatchObject({
      code: 'STREAM_NOT_FOUND',
      message: expect.stringContaining('Name the input stream with "input"'),
    });
    await m.createQuery({ name: 'spend', sql: SPEND_SQL });
    await expect(m.createQuery({ name: 'spend', sql: SPEND_SQL })).rejects.toMatchObject({ code: 'QUERY_EXISTS' });
    expect(m.listQueries().map((q) => q.name)).toEqual(['spend']);
  });

  it('follows a reshard: parents are read to their end before their children, and the output still equals the file run', async () => {
    const { log, manager } = await setup(2);
    const records = traffic(3000, 13);
    await appendTolls(log, 'toll_transactions', records.slice(0, 1200));
    const m = manager();
    await m.start();
    await m.createQuery({ name: 'spend', sql: SPEND_SQL });
    await log.updateShardCount('toll_transactions', 4);
    await appendTolls(log, 'toll_transactions', records.slice(1200, 2000));
    await log.updateShardCount('toll_transactions', 2);
    await appendTolls(log, 'toll_transactions', records.slice(2000));
    const last = Math.max(...records.map((r) => Date.parse(String(r.event_time))));
    const flush = await appendFlush(log, 'toll_transactions', last);
    await finish(m, 'spend', last);
    expect(m.info('spend').stats.lateRows).toBe(0);
    expect(canonical(await readAll(log, 'customer_spend'))).toEqual(await reference(SPEND_SQL, 'toll_transactions', [...records, ...flush], 'customer_spend'));
  });

  it('a GROUP BY without a window writes every update once across a restart (versions are checkpointed)', async () => {
    const { log, manager } = await setup(2);
    const sql = `
CREATE TABLE tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'toll_transactions');
CREATE TABLE running_spend (customer_id VARCHAR(16), trips BIGINT, total_cents BIGINT) WITH ('stream' = 'running_spend');
INSERT INTO running_spend SELECT customer_id, COUNT(*), SUM(amount_cents) FROM tolls GROUP BY customer_id;`;
    const records = traffic(2000, 17);
    await appendTolls(log, 'toll_transactions', records.slice(0, 800));
    const first = manager();
    await first.start();
    expect((await first.createQuery({ name: 'running', sql })).outputs[0]!.keyMode).toBe('group');
    await appendTolls(log, 'toll_transactions', records.slice(800, 1300));
    await waitFor(() => first.info('running').stats.rowsInTotal >= 1000, 'rows taken in');
    await first.close();
    await appendTolls(log, 'toll_transactions', records.slice(1300));
    const second = manager();
    await second.start();
    await waitFor(() => second.info('running').stats.rowsInTotal >= 2000 - 1300, 'the rest taken in');
    await waitFor(async () => (await readAll(log, 'running_spend')).length >= 2000, 'every update written');
    await second.checkpointNow('running');
    expect(canonical(await readAll(log, 'running_spend'))).toEqual(await reference(sql, 'toll_transactions', records, 'running_spend'));
  });

  it('a query whose input stream is deleted fails with a clear error and still closes', async () => {
    const { log, manager } = await setup(1);
    await appendTolls(log, 'toll_transactions', traffic(100, 2));
    const m = manager();
    await m.start();
    await m.createQuery({ name: 'spend', sql: SPEND_SQL });
    await waitFor(() => m.info('spend').stats.rowsInTotal === 100, 'rows taken in');
    await log.deleteStream('toll_transactions');
    await waitFor(() => m.info('spend').state === 'FAILED', 'the query to fail');
    expect(m.info('spend').error).toMatchObject({ code: 'STREAM_NOT_FOUND', message: expect.stringContaining('toll_transactions') });
    await m.close();
  });
});
