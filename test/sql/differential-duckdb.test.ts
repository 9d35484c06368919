/**
 * Differential test: random toll passages with out-of-order event times (never beyond the watermark delay,
 * so no row is late), spread over three partitions (shards), go through our TUMBLE, HOP, CUMULATE and
 * SESSION aggregates, and DuckDB computes the same windows in batch. The final window rows must be equal,
 * row for row.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollstream-sql-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** mulberry32: a small seeded generator so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Passage {
  _partition: string;
  plate: string;
  plaza_id: number;
  amount_cents: number;
  event_time: string;
  event_ms: number;
}

function generate(seed: number, count: number): Passage[] {
  const rnd = random(seed);
  const base = Date.UTC(2026, 2, 2, 7, 58, 13, 250);
  const out: Passage[] = [];
  let clock = base;
  for (let i = 0; i < count; i++) {
    clock += Math.floor(rnd() * 4000);
    // Up to 20 s out of order; the watermark allows 30 s.
    const ms = clock - Math.floor(rnd() * 20_000);
    out.push({
      // Three shards: the watermark is the minimum of theirs.
      _partition: `shard-${Math.floor(rnd() * 3)}`,
      plate: `P-${Math.floor(rnd() * 60)}`,
      plaza_id: 1 + Math.floor(rnd() * 6),
      amount_cents: 100 + Math.floor(rnd() * 1900),
      event_time: new Date(ms).toISOString(),
      event_ms: ms,
    });
  }
  return out;
}

const SQL = `
CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND) WITH ('stream' = 'tolls');
CREATE TABLE tumbling (window_start TIMESTAMP(3), plaza_id INT, n BIGINT, total BIGINT, lo BIGINT, hi BIGINT) WITH ('stream' = 'tumbling');
CREATE TABLE hopping (window_start TIMESTAMP(3), plaza_id INT, n BIGINT, total BIGINT, lo BIGINT, hi BIGINT) WITH ('stream' = 'hopping');
INSERT INTO tumbling
SELECT window_start, plaza_id, COUNT(*), SUM(amount_cents), MIN(amount_cents), MAX(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '5' MINUTE))
GROUP BY window_start, window_end, plaza_id;
CREATE TABLE cumulating (window_start TIMESTAMP(3), window_end TIMESTAMP(3), plaza_id INT, n BIGINT, total BIGINT, lo BIGINT, hi BIGINT) WITH ('stream' = 'cumulating');
CREATE TABLE sessions (window_start TIMESTAMP(3), window_end TIMESTAMP(3), plate VARCHAR(16), n BIGINT, total BIGINT, lo BIGINT, hi BIGINT) WITH ('stream' = 'sessions');
INSERT INTO cumulating
SELECT window_start, window_end, plaza_id, COUNT(*), SUM(amount_cents), MIN(amount_cents), MAX(amount_cents)
FROM TABLE(CUMULATE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '2' MINUTE, INTERVAL '10' MINUTE))
GROUP BY window_start, window_end, plaza_id;
INSERT INTO sessions
SELECT window_start, window_end, plate, COUNT(*), SUM(amount_cents), MIN(amount_cents), MAX(amount_cents)
FROM TABLE(SESSION(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '3' MINUTE))
GROUP BY window_start, window_end, plate;
INSERT INTO hopping
SELECT window_start, plaza_id, COUNT(*), SUM(amount_cents), MIN(amount_cents), MAX(amount_cents)
FROM TABLE(HOP(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
GROUP BY window_start, window_end, plaza_id;
`;

type WindowRow = [number, number, number, number, number, number];

function ours(rows: Record<string, unknown>[]): WindowRow[] {
  return rows
    .map((r) => [Date.parse(r.window_start as string), r.plaza_id, r.n, r.total, r.lo, r.hi].map(Number) as WindowRow)
    .sort(compareRows);
}

function compareRows(a: WindowRow, b: WindowRow): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

async function duckdbWindows(path: string): Promise<{ tumbling: WindowRow[]; hopping: WindowRow[]; cumulating: string[]; sessions: string[] }> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    await db.run(`CREATE TABLE tolls AS SELECT * FROM read_json('${path.replace(/'/g, "''")}',
      columns = {plate: 'VARCHAR', plaza_id: 'INTEGER', amount_cents: 'BIGINT', event_time: 'VARCHAR', event_ms: 'BIGINT'})`);
    const read = async (sql: string) =>
      ((await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[])
        .map((r) => [r.ws, r.plaza_id, r.n, r.total, r.lo, r.hi].map(Number) as WindowRow)
        .sort(compareRows);
    const tumbling = await read(`
      SELECT (event_ms // 300000) * 300000 AS ws, plaza_id, COUNT(*) AS n, SUM(amount_cents) AS total,
             MIN(amount_cents) AS lo, MAX(amount_cents) AS hi
      FROM tolls GROUP BY ws, plaza_id`);
    const hopping = await read(`
      SELECT (event_ms // 60000) * 60000 - k * 60000 AS ws, plaza_id, COUNT(*) AS n, SUM(amount_cents) AS total,
             MIN(amount_cents) AS lo, MAX(amount_cents) AS hi
      FROM tolls CROSS JOIN range(0, 5) AS r(k) GROUP BY ws, plaza_id`);
    const readWide = async (sql: string) =>
      ((await db.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[])
        .map((r) => [r.ws, r.we, r.k, r.n, r.total, r.lo, r.hi].map((v) => (typeof v === 'string' ? v : Number(v))))
        .map((r) => JSON.stringify(r))
        .sort();
    // CUMULATE step 2 min, max 10 min: windows [s, s + 2k min) for k = 1..5 that hold the row.
    const cumulating = await readWide(`
      SELECT (event_ms // 600000) * 600000 AS ws, (event_ms // 600000) * 600000 + k * 120000 AS we, CAST(plaza_id AS VARCHAR) AS k,
             COUNT(*) AS n, SUM(amount_cents) AS total, MIN(amount_cents) AS lo, MAX(amount_cents) AS hi
      FROM tolls CROSS JOIN range(1, 6) AS r(k)
      WHERE event_ms < (event_ms // 600000) * 600000 + k * 120000
      GROUP BY ws, we, plaza_id`);
    // SESSION gap 3 min per plate: a row starts a new session unless it is less than 3 min after the previous one.
    const sessions = await readWide(`
      WITH marked AS (
        SELECT *, CASE WHEN event_ms - LAG(event_ms) OVER (PARTITION BY plate ORDER BY event_ms) < 180000 THEN 0 ELSE 1 END AS starts
        FROM tolls),
      numbered AS (SELECT *, SUM(starts) OVER (PARTITION BY plate ORDER BY event_ms ROWS UNBOUNDED PRECEDING) AS session FROM marked)
      SELECT MIN(event_ms) AS ws, MAX(event_ms) + 180000 AS we, plate AS k,
             COUNT(*) AS n, SUM(amount_cents) AS total, MIN(amount_cents) AS lo, MAX(amount_cents) AS hi
      FROM numbered GROUP BY plate, session`);
    return { tumbling, hopping, cumulating, sessions };
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

describe('windowed aggregates agree with DuckDB', () => {
  for (const seed of [7, 2026, 424242]) {
    it(`TUMBLE, HOP, CUMULATE and SESSION with COUNT/SUM/MIN/MAX, out-of-order input (seed ${seed})`, async () => {
      const passages = generate(seed, 4000);
      const path = join(dir, `tolls-${seed}.ndjson`);
      writeFileSync(path, passages.map((p) => JSON.stringify(p)).join('\n') + '\n');
      const result = await runQuery({ sql: SQL, inputs: { tolls: path }, batchSize: 97 });
      expect(result.errors).toEqual([]);
      const expected = await duckdbWindows(path);
      expect(expected.tumbling.length).toBeGreaterThan(100);
      expect(ours(result.streams.tumbling!)).toEqual(expected.tumbling);
      expect(ours(result.streams.hopping!)).toEqual(expected.hopping);
      const wide = (rows: Record<string, unknown>[], key: string) =>
        rows.map((r) => JSON.stringify([Date.parse(r.window_start as string), Date.parse(r.window_end as string), String(r[key]), r.n, r.total, r.lo, r.hi])).sort();
      expect(wide(result.streams.cumulating!, 'plaza_id')).toEqual(expected.cumulating);
      expect(expected.sessions.length).toBeGreaterThan(100);
      expect(wide(result.streams.sessions!, 'plate')).toEqual(expected.sessions);
    });
  }
});

describe('grouping sets over windows agree with DuckDB', () => {
  it('CUBE (plaza_id, plate) with GROUPING() over HOP windows, out-of-order input over three shards', async () => {
    const passages = generate(31, 3000).map((p) => ({ ...p, plate: `P-${p.plate.length % 4}${p.amount_cents % 3}` }));
    const path = join(dir, 'cube.ndjson');
    writeFileSync(path, passages.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const sql = `
      CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
        WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND);
      SELECT window_start, plaza_id, plate, GROUPING(plaza_id, plate) AS g, COUNT(*) AS n, SUM(amount_cents) AS total, MAX(amount_cents) AS hi
      FROM TABLE(HOP(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '2' MINUTE, INTERVAL '6' MINUTE))
      GROUP BY window_start, window_end, CUBE (plaza_id, plate);`;
    const result = await runQuery({ sql, inputs: { tolls: path }, batchSize: 97 });
    expect(result.errors).toEqual([]);
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`CREATE TABLE tolls AS SELECT * FROM read_json('${path.replace(/'/g, "''")}',
        columns = {plate: 'VARCHAR', plaza_id: 'INTEGER', amount_cents: 'BIGINT', event_ms: 'BIGINT'})`);
      const expected = ((await db.runAndReadAll(`
        SELECT (event_ms // 120000) * 120000 - k * 120000 AS ws, plaza_id, plate, GROUPING(plaza_id, plate) AS g,
               COUNT(*) AS n, SUM(amount_cents) AS total, MAX(amount_cents) AS hi
        FROM tolls CROSS JOIN range(0, 3) AS r(k)
        GROUP BY ws, CUBE (plaza_id, plate)`)).getRowObjectsJS() as Record<string, unknown>[])
        .map((r) => JSON.stringify([Number(r.ws), r.plaza_id === null ? null : Number(r.plaza_id), r.plate, Number(r.g), Number(r.n), Number(r.total), Number(r.hi)]))
        .sort();
      const got = result.streams.result!
        .map((r) => JSON.stringify([Date.parse(r.window_start as string), r.plaza_id, r.plate, r.g, r.n, r.total, r.hi]))
        .sort();
      expect(expected.length).toBeGreaterThan(500);
      expect(got).toEqual(expected);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});

describe('Kinesis Analytics windows agree with DuckDB', () => {
  // Kinesis Analytics leaves a row exactly `range` old out of the window: (t - 2 min, t], which is DuckDB's
  // [t - 119999 ms, t] over integer milliseconds.
  it('sliding windows (OVER ... RANGE INTERVAL PRECEDING, ROWS n PRECEDING) and STEP on ROWTIME', async () => {
    const rnd = random(99);
    const base = Date.UTC(2026, 2, 2, 8);
    let arrival = base;
    const records = Array.from({ length: 3000 }, (_, seq) => {
      // Strictly increasing (no two rows share a ROWTIME), on whole seconds, so rows exactly two minutes
      // apart (the window's excluded bound) are common.
      arrival += 1000 * (1 + Math.floor(rnd() * 3));
      return { seq, plate: `P-${Math.floor(rnd() * 25)}`, amount_cents: 100 + Math.floor(rnd() * 900), arrival_ms: arrival, _arrival_time: new Date(arrival).toISOString() };
    });
    const path = join(dir, 'kinesis.ndjson');
    writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const sql = `
      CREATE OR REPLACE STREAM "SLIDING" ("seq" BIGINT, "plate" VARCHAR(16), "n" BIGINT, "total" BIGINT, "lo" BIGINT, "hi" BIGINT);
      CREATE OR REPLACE STREAM "STEPPED" ("window_start" TIMESTAMP, "plate" VARCHAR(16), "n" BIGINT, "total" BIGINT);
      CREATE OR REPLACE PUMP "SLIDING_PUMP" AS INSERT INTO "SLIDING"
        SELECT STREAM "seq", "plate", COUNT(*) OVER W, SUM("amount_cents") OVER W, MIN("amount_cents") OVER W, MAX("amount_cents") OVER W
        FROM "SOURCE_SQL_STREAM_001"
        WINDOW W AS (PARTITION BY "plate" RANGE INTERVAL '2' MINUTE PRECEDING);
      CREATE OR REPLACE STREAM "LAST_ROWS" ("seq" BIGINT, "plate" VARCHAR(16), "n" BIGINT, "total" BIGINT, "lo" BIGINT, "hi" BIGINT);
      CREATE OR REPLACE PUMP "ROWS_PUMP" AS INSERT INTO "LAST_ROWS"
        SELECT STREAM "seq", "plate", COUNT(*) OVER W, SUM("amount_cents") OVER W, MIN("amount_cents") OVER W, MAX("amount_cents") OVER W
        FROM "SOURCE_SQL_STREAM_001"
        WINDOW W AS (PARTITION BY "plate" ROWS 2 PRECEDING);
      CREATE OR REPLACE PUMP "STEP_PUMP" AS INSERT INTO "STEPPED"
        SELECT STREAM STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '15' MINUTE), "plate", COUNT(*), SUM("amount_cents")
        FROM "SOURCE_SQL_STREAM_001"
        GROUP BY "plate", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '15' MINUTE);`;
    const result = await runQuery({ sql, inputs: { SOURCE_SQL_STREAM_001: path }, batchSize: 64 });
    expect(result.errors).toEqual([]);

    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`CREATE TABLE s AS SELECT * FROM read_json('${path.replace(/'/g, "''")}',
        columns = {seq: 'BIGINT', plate: 'VARCHAR', amount_cents: 'BIGINT', arrival_ms: 'BIGINT'})`);
      const rows = async (q: string) => (await db.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[];
      const sliding = await rows(`
        SELECT seq, plate,
          COUNT(*) OVER w AS n, SUM(amount_cents) OVER w AS total, MIN(amount_cents) OVER w AS lo, MAX(amount_cents) OVER w AS hi
        FROM s WINDOW w AS (PARTITION BY plate ORDER BY arrival_ms RANGE BETWEEN 119999 PRECEDING AND CURRENT ROW)
        ORDER BY seq`);
      const norm = (r: Record<string, unknown>) => ({ seq: Number(r.seq), plate: r.plate, n: Number(r.n), total: Number(r.total), lo: Number(r.lo), hi: Number(r.hi) });
      expect([...result.streams.SLIDING!].map(norm).sort((a, b) => a.seq - b.seq)).toEqual(sliding.map(norm));
      const lastRows = await rows(`
        SELECT seq, plate,
          COUNT(*) OVER w AS n, SUM(amount_cents) OVER w AS total, MIN(amount_cents) OVER w AS lo, MAX(amount_cents) OVER w AS hi
        FROM s WINDOW w AS (PARTITION BY plate ORDER BY arrival_ms ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
        ORDER BY seq`);
      expect([...result.streams.LAST_ROWS!].map(norm).sort((a, b) => a.seq - b.seq)).toEqual(lastRows.map(norm));

      const stepped = await rows(`
        SELECT (arrival_ms // 900000) * 900000 AS ws, plate, COUNT(*) AS n, SUM(amount_cents) AS total
        FROM s GROUP BY ws, plate ORDER BY ws, plate`);
      const key = (r: { ws: number; plate: unknown }) => `${r.ws}|${String(r.plate)}`;
      const ours = result.streams.STEPPED!.map((r) => ({ ws: Date.parse(r.window_start as string), plate: r.plate, n: Number(r.n), total: Number(r.total) }));
      const theirs = stepped.map((r) => ({ ws: Number(r.ws), plate: r.plate, n: Number(r.n), total: Number(r.total) }));
      expect(ours.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(theirs.sort((a, b) => key(a).localeCompare(key(b))));
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});

describe('TOP_K_ITEMS_TUMBLING agrees with DuckDB', () => {
  it('the K most frequent values of each tumbling window, ties ranked by value', async () => {
    const rnd = random(314);
    let arrival = Date.UTC(2026, 2, 2, 8);
    const records = Array.from({ length: 4000 }, () => {
      arrival += 100 * (1 + Math.floor(rnd() * 20));
      // Skewed, so counts differ and also tie.
      const plate = `P-${Math.floor(rnd() * rnd() * 30)}`;
      return { plate, arrival_ms: arrival, _arrival_time: new Date(arrival).toISOString() };
    });
    const path = join(dir, 'top-k.ndjson');
    writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const sql = `
      CREATE OR REPLACE STREAM "TOP" ("plate" VARCHAR(16), "n" BIGINT, "window_end" TIMESTAMP);
      CREATE OR REPLACE PUMP "TOP_PUMP" AS INSERT INTO "TOP"
        SELECT STREAM ITEM, ITEM_COUNT, ROWTIME
        FROM TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 'plate', 4, 30));`;
    const result = await runQuery({ sql, inputs: { SOURCE_SQL_STREAM_001: path }, batchSize: 50 });
    expect(result.errors).toEqual([]);
    const ours = result.streams.TOP!.map((r) => JSON.stringify([Date.parse(r.window_end as string), r.plate, Number(r.n)])).sort();

    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`CREATE TABLE s AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {plate: 'VARCHAR', arrival_ms: 'BIGINT'})`);
      const rows = (await db.runAndReadAll(`
        SELECT we, plate, n FROM (
          SELECT (arrival_ms // 30000) * 30000 + 30000 AS we, plate, COUNT(*) AS n FROM s GROUP BY we, plate)
        QUALIFY row_number() OVER (PARTITION BY we ORDER BY n DESC, plate) <= 4`)).getRowObjectsJS() as Record<string, unknown>[];
      const theirs = rows.map((r) => JSON.stringify([Number(r.we), r.plate, Number(r.n)])).sort();
      expect(theirs.length).toBeGreaterThan(100);
      expect(ours).toEqual(theirs);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});

describe('window joins agree with DuckDB', () => {
  // Two out-of-order streams over three shards, each in 1-minute TUMBLE windows, joined on plate and window:
  // FULL keeps the rows of either side that no row of the other side's same window and plate matches, and
  // emits them once the window can get no more rows. A plate seen several times in a window joins each pair.
  for (const seed of [13, 4242]) {
    it(`FULL and LEFT JOIN on key, window_start and window_end of two TUMBLE windows (seed ${seed})`, async () => {
      const a = generate(seed, 1200).map((p, seq) => ({ ...p, seq, plate: `P-${p.amount_cents % 25}` }));
      const b = generate(seed + 1, 1200).map((p, seq) => ({ ...p, seq, plate: `P-${p.amount_cents % 25}` }));
      const aPath = join(dir, `wj-a-${seed}.ndjson`);
      const bPath = join(dir, `wj-b-${seed}.ndjson`);
      writeFileSync(aPath, a.map((p) => JSON.stringify(p)).join('\n') + '\n');
      writeFileSync(bPath, b.map((p) => JSON.stringify(p)).join('\n') + '\n');
      const table = (name: string) => `CREATE TABLE ${name} (seq BIGINT, plate VARCHAR(16), event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND);`;
      const body = (kind: string) => `
        SELECT L.seq AS l_seq, R.seq AS r_seq, COALESCE(L.window_start, R.window_start) AS ws
        FROM (SELECT * FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))) L
        ${kind} JOIN (SELECT * FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))) R
        ON L.plate = R.plate AND L.window_start = R.window_start AND L.window_end = R.window_end;`;
      const semi = (not: string) => `
        SELECT L.seq FROM (SELECT * FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))) L
        WHERE ${not} EXISTS (SELECT * FROM (SELECT * FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))) R
          WHERE L.plate = R.plate AND L.window_start = R.window_start AND L.window_end = R.window_end);`;
      const result = await runQuery({ sql: `${table('a')} ${table('b')} ${body('FULL')} ${body('LEFT')} ${semi('')} ${semi('NOT')}`, inputs: { a: aPath, b: bPath }, batchSize: 50 });
      expect(result.errors).toEqual([]);
      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        for (const [name, path] of [['a', aPath], ['b', bPath]]) {
          await db.run(`CREATE TABLE ${name} AS SELECT seq, plate, (event_ms // 60000) * 60000 AS ws FROM read_json('${path!.replace(/'/g, "''")}',
            columns = {seq: 'BIGINT', plate: 'VARCHAR', event_ms: 'BIGINT'})`);
        }
        const theirs = async (kind: string) =>
          ((await db.runAndReadAll(`SELECT a.seq AS l_seq, b.seq AS r_seq, COALESCE(a.ws, b.ws) AS ws FROM a ${kind} JOIN b ON a.plate = b.plate AND a.ws = b.ws`)).getRowObjectsJS() as Record<string, unknown>[])
            .map((r) => JSON.stringify([r.l_seq === null ? null : Number(r.l_seq), r.r_seq === null ? null : Number(r.r_seq), Number(r.ws)]))
            .sort();
        const ours = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify([r.l_seq, r.r_seq, Date.parse(r.ws as string)])).sort();
        const full = await theirs('FULL OUTER');
        // Both kinds of unmatched rows and matched pairs occur.
        expect(full.some((r) => r.startsWith('[null,')) && full.some((r) => r.includes(',null,')) && full.some((r) => !r.includes('null'))).toBe(true);
        expect(ours(result.streams.result!)).toEqual(full);
        expect(ours(result.streams.result_2!)).toEqual(await theirs('LEFT OUTER'));
        // Semi- and anti-joins: each left row once, or never.
        const seqs = async (not: string) =>
          ((await db.runAndReadAll(`SELECT seq FROM a WHERE ${not} EXISTS (SELECT 1 FROM b WHERE a.plate = b.plate AND a.ws = b.ws) ORDER BY seq`)).getRowObjectsJS() as Record<string, unknown>[]).map((r) => Number(r.seq));
        const ourSeqs = (rows: Record<string, unknown>[]) => rows.map((r) => r.seq as number).sort((x, y) => x - y);
        const matched = await seqs('');
        expect(matched.length).toBeGreaterThan(100);
        expect(ourSeqs(result.streams.result_3!)).toEqual(matched);
        expect(ourSeqs(result.streams.result_4!)).toEqual(await seqs('NOT'));
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    });
  }
});

describe('temporal joins agree with DuckDB', () => {
  // Out-of-order orders and rate updates over three shards each; every order must get the rate of its
  // currency valid at its time (DuckDB's ASOF JOIN: the last update at or before it). Update times are
  // distinct per currency, so "the last one" is never a tie.
  for (const seed of [17, 333]) {
    it(`LEFT JOIN ... FOR SYSTEM_TIME AS OF over out-of-order orders and versions (seed ${seed})`, async () => {
      const rnd = random(seed);
      const base = Date.UTC(2026, 2, 2, 8);
      const shard = () => `shard-${Math.floor(rnd() * 3)}`;
      const orders = Array.from({ length: 1500 }, (_, seq) => {
        const ms = base + seq * 2000 - Math.floor(rnd() * 20_000);
        return { _partition: shard(), seq, currency: `C${Math.floor(rnd() * 8)}`, order_time: new Date(ms).toISOString(), order_ms: ms };
      });
      const rates = Array.from({ length: 400 }, (_, i) => {
        const ms = base - 60_000 + i * 7919 - Math.floor(rnd() * 20_000);
        return { _partition: shard(), currency: `C${i % 7}`, rate: i, update_time: new Date(ms).toISOString(), update_ms: ms };
      });
      const ordersPath = join(dir, `tj-orders-${seed}.ndjson`);
      const ratesPath = join(dir, `tj-rates-${seed}.ndjson`);
      writeFileSync(ordersPath, orders.map((o) => JSON.stringify(o)).join('\n') + '\n');
      writeFileSync(ratesPath, rates.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const sql = `
        CREATE TABLE orders (seq BIGINT, currency VARCHAR(4), order_time TIMESTAMP(3), WATERMARK FOR order_time AS order_time - INTERVAL '30' SECOND);
        CREATE TABLE rates (currency VARCHAR(4), rate BIGINT, update_time TIMESTAMP(3),
          WATERMARK FOR update_time AS update_time - INTERVAL '30' SECOND, PRIMARY KEY (currency) NOT ENFORCED);
        SELECT o.seq, r.rate FROM orders AS o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.currency = r.currency;`;
      const result = await runQuery({ sql, inputs: { orders: ordersPath, rates: ratesPath }, batchSize: 40 });
      expect(result.errors).toEqual([]);
      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        await db.run(`CREATE TABLE o AS SELECT * FROM read_json('${ordersPath.replace(/'/g, "''")}', columns = {seq: 'BIGINT', currency: 'VARCHAR', order_ms: 'BIGINT'})`);
        await db.run(`CREATE TABLE r AS SELECT * FROM read_json('${ratesPath.replace(/'/g, "''")}', columns = {currency: 'VARCHAR', rate: 'BIGINT', update_ms: 'BIGINT'})`);
        const expected = ((await db.runAndReadAll(`SELECT o.seq, r.rate FROM o ASOF LEFT JOIN r ON o.currency = r.currency AND o.order_ms >= r.update_ms ORDER BY o.seq`)).getRowObjectsJS() as Record<string, unknown>[])
          .map((x) => ({ seq: Number(x.seq), rate: x.rate === null ? null : Number(x.rate) }));
        const ours = result.streams.result!.map((x) => ({ seq: x.seq as number, rate: x.rate as number | null })).sort((a, b) => a.seq - b.seq);
        // Orders of a currency with no rate (C7 never has one), before their currency's first rate, and with one.
        expect(expected.filter((x) => x.rate === null).length).toBeGreaterThan(50);
        expect(expected.filter((x) => x.rate !== null).length).toBeGreaterThan(500);
        expect(ours).toEqual(expected);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    });
  }
});

describe('interval joins agree with DuckDB', () => {
  // Inner and outer: an outer join's padded rows come out when the watermark passes their bound.
  const runs: [number, string][] = [[11, 'JOIN'], [2027, 'JOIN'], [11, 'FULL JOIN'], [2027, 'LEFT JOIN'], [5, 'RIGHT JOIN']];
  for (const [seed, kind] of runs) {
    it(`two out-of-order streams joined on a key within a time interval (${kind}, seed ${seed})`, async () => {
      const entries = generate(seed, 1500).map((p) => ({ ...p, entry_time: p.event_time }));
      const exits = generate(seed + 1, 1500).map((p) => ({ ...p, exit_time: p.event_time }));
      const entriesPath = join(dir, `entries-${seed}.ndjson`);
      const exitsPath = join(dir, `exits-${seed}.ndjson`);
      writeFileSync(entriesPath, entries.map((p) => JSON.stringify(p)).join('\n') + '\n');
      writeFileSync(exitsPath, exits.map((p) => JSON.stringify(p)).join('\n') + '\n');
      const sql = `
        CREATE TABLE entries (plate VARCHAR(16), plaza_id INT, entry_time TIMESTAMP(3),
          WATERMARK FOR entry_time AS entry_time - INTERVAL '30' SECOND) WITH ('stream' = 'entries');
        CREATE TABLE exits (plate VARCHAR(16), plaza_id INT, exit_time TIMESTAMP(3),
          WATERMARK FOR exit_time AS exit_time - INTERVAL '30' SECOND) WITH ('stream' = 'exits');
        SELECT n.plate AS entry_plate, x.plate AS exit_plate, n.plaza_id AS entry_plaza, x.plaza_id AS exit_plaza, n.entry_time, x.exit_time
        FROM entries n ${kind} exits x
          ON n.plate = x.plate AND x.exit_time BETWEEN n.entry_time - INTERVAL '2' MINUTE AND n.entry_time + INTERVAL '10' MINUTE;`;
      const result = await runQuery({ sql, inputs: { entries: entriesPath, exits: exitsPath }, batchSize: 37 });
      expect(result.errors).toEqual([]);
      const time = (v: unknown) => (v === null ? null : Date.parse(v as string));
      const ours = result.streams.result!.map((r) => JSON.stringify([r.entry_plate, r.exit_plate, r.entry_plaza, r.exit_plaza, time(r.entry_time), time(r.exit_time)])).sort();

      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        const load = (table: string, path: string) =>
          db.run(`CREATE TABLE ${table} AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {plate: 'VARCHAR', plaza_id: 'INTEGER', event_ms: 'BIGINT'})`);
        await load('entries', entriesPath);
        await load('exits', exitsPath);
        const rows = (await db.runAndReadAll(`
          SELECT n.plate AS p1, x.plate AS p2, n.plaza_id AS a, x.plaza_id AS b, n.event_ms AS t1, x.event_ms AS t2
          FROM entries n ${kind} exits x ON n.plate = x.plate AND x.event_ms BETWEEN n.event_ms - 120000 AND n.event_ms + 600000`)).getRowObjectsJS() as Record<string, unknown>[];
        const num = (v: unknown) => (v === null ? null : Number(v));
        const theirs = rows.map((r) => JSON.stringify([r.p1, r.p2, num(r.a), num(r.b), num(r.t1), num(r.t2)])).sort();
        expect(theirs.length).toBeGreaterThan(100);
        if (kind !== 'JOIN') expect(theirs.some((r) => r.includes('null'))).toBe(true);
        expect(ours).toEqual(theirs);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    });
  }

  it('windowed aggregates joined on their window end with a zero-width bound (the busiest plazas of every HOP window)', async () => {
    const passages = generate(31, 4000);
    const path = join(dir, 'busiest.ndjson');
    writeFileSync(path, passages.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const sql = `
      CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
        WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND) WITH ('stream' = 'tolls');
      CREATE VIEW plaza_counts AS
      SELECT window_start, window_end, plaza_id, COUNT(*) AS n
      FROM TABLE(HOP(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '3' MINUTE))
      GROUP BY window_start, window_end, plaza_id;
      CREATE VIEW busiest AS
      SELECT window_start AS ends, MAX(n) AS top_n
      FROM TABLE(TUMBLE(TABLE plaza_counts, DESCRIPTOR(window_end), INTERVAL '1' MINUTE))
      GROUP BY window_start, window_end;
      SELECT c.window_start, c.plaza_id, c.n
      FROM plaza_counts c JOIN busiest b
        ON c.window_end = b.ends AND c.n = b.top_n AND b.ends BETWEEN c.window_end AND c.window_end;`;
    for (const batchSize of [5, 512]) {
      const result = await runQuery({ sql, inputs: { tolls: path }, batchSize });
      expect(result.errors).toEqual([]);
      const ours = result.streams.result!.map((r) => JSON.stringify([Date.parse(r.window_start as string), r.plaza_id, r.n])).sort();

      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        await db.run(`CREATE TABLE tolls AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {plaza_id: 'INTEGER', event_ms: 'BIGINT'})`);
        const rows = (await db.runAndReadAll(`
          WITH counts AS (
            SELECT (event_ms // 60000) * 60000 - k * 60000 AS ws, plaza_id, COUNT(*) AS n
            FROM tolls CROSS JOIN range(0, 3) AS r(k) GROUP BY ws, plaza_id)
          SELECT ws, plaza_id, n FROM counts WHERE n = (SELECT MAX(n) FROM counts c2 WHERE c2.ws = counts.ws)`)).getRowObjectsJS() as Record<string, unknown>[];
        const theirs = rows.map((r) => JSON.stringify([Number(r.ws), Number(r.plaza_id), Number(r.n)])).sort();
        expect(theirs.length).toBeGreaterThan(100);
        expect(ours).toEqual(theirs);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    }
  });
});

describe('Flink OVER windows ordered by event time agree with DuckDB', () => {
  // Rows come up to 20 s out of order, on whole seconds, over few plates: rows of one plate and second (peers,
  // each in the others' window) and rows exactly the range apart (in the window: Flink's RANGE is "at most"
  // that much older) are common. The answer must follow event time, whatever the arrival order.
  for (const seed of [5, 77]) {
    it(`SUM/COUNT/MIN/MAX OVER (PARTITION BY plate ORDER BY event_time RANGE BETWEEN ... PRECEDING AND CURRENT ROW) (seed ${seed})`, async () => {
      const rnd = random(seed);
      const base = Date.UTC(2026, 2, 2, 8);
      let clock = base;
      const records = Array.from({ length: 2500 }, (_, seq) => {
        clock += 1000 * Math.floor(rnd() * 3);
        const ms = clock - 1000 * Math.floor(rnd() * 20);
        return { seq, _partition: `shard-${Math.floor(rnd() * 3)}`, plate: `P-${Math.floor(rnd() * 8)}`, amount_cents: 100 + Math.floor(rnd() * 900), event_time: new Date(ms).toISOString(), event_ms: ms };
      });
      const path = join(dir, `over-${seed}.ndjson`);
      writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const sql = `
        CREATE TABLE passages (seq BIGINT, plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
          WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND);
        SELECT seq, plate, COUNT(*) OVER w AS n, SUM(amount_cents) OVER w AS total, MIN(amount_cents) OVER w AS lo, MAX(amount_cents) OVER w AS hi
        FROM passages
        WINDOW w AS (PARTITION BY plate ORDER BY event_time RANGE BETWEEN INTERVAL '2' MINUTE PRECEDING AND CURRENT ROW);
        SELECT seq, plate, COUNT(*) OVER w AS n, SUM(amount_cents) OVER w AS total, MIN(amount_cents) OVER w AS lo, MAX(amount_cents) OVER w AS hi
        FROM passages
        WINDOW w AS (PARTITION BY plate ORDER BY event_time ROWS BETWEEN 3 PRECEDING AND CURRENT ROW);`;
      const result = await runQuery({ sql, inputs: { passages: path }, batchSize: 64 });
      expect(result.errors).toEqual([]);

      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        await db.run(`CREATE TABLE s AS SELECT * FROM read_json('${path.replace(/'/g, "''")}',
          columns = {seq: 'BIGINT', plate: 'VARCHAR', amount_cents: 'BIGINT', event_ms: 'BIGINT'})`);
        const expected = (await db.runAndReadAll(`
          SELECT seq, plate, COUNT(*) OVER w AS n, SUM(amount_cents) OVER w AS total, MIN(amount_cents) OVER w AS lo, MAX(amount_cents) OVER w AS hi
          FROM s WINDOW w AS (PARTITION BY plate ORDER BY event_ms RANGE BETWEEN 120000 PRECEDING AND CURRENT ROW)
          ORDER BY seq`)).getRowObjectsJS() as Record<string, unknown>[];
        const norm = (r: Record<string, unknown>) => ({ seq: Number(r.seq), plate: r.plate, n: Number(r.n), total: Number(r.total), lo: Number(r.lo), hi: Number(r.hi) });
        expect(result.streams.result!.map(norm).sort((a, b) => a.seq - b.seq)).toEqual(expected.map(norm));
        // ROWS: the row and the 3 before it in event-time order; rows of one time in the order they came.
        const expectedRows = (await db.runAndReadAll(`
          SELECT seq, plate, COUNT(*) OVER w AS n, SUM(amount_cents) OVER w AS total, MIN(amount_cents) OVER w AS lo, MAX(amount_cents) OVER w AS hi
          FROM s WINDOW w AS (PARTITION BY plate ORDER BY event_ms, seq ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)
          ORDER BY seq`)).getRowObjectsJS() as Record<string, unknown>[];
        expect(result.streams.result_2!.map(norm).sort((a, b) => a.seq - b.seq)).toEqual(expectedRows.map(norm));
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    });
  }
});

describe('LAG over event-time OVER windows agrees with DuckDB', () => {
  // The same out-of-order rows with peers: LAG follows event time, and rows of one time the order they came
  // in (DuckDB: ORDER BY event_ms, seq). DuckDB's LAG ignores the frame, so the RANGE frame's bound is
  // written out there: the previous row counts while it is at most 30 s older.
  for (const seed of [8, 91]) {
    it(`LAG(x), LAG(x, 2, default) without a frame and LAG(x, 1, 0) in a 30-second RANGE frame (seed ${seed})`, async () => {
      const rnd = random(seed);
      let clock = Date.UTC(2026, 2, 2, 8);
      const records = Array.from({ length: 2000 }, (_, seq) => {
        clock += 1000 * Math.floor(rnd() * 4);
        const ms = clock - 1000 * Math.floor(rnd() * 20);
        return { seq, _partition: `shard-${Math.floor(rnd() * 3)}`, plate: `P-${Math.floor(rnd() * 8)}`, amount_cents: 100 + Math.floor(rnd() * 900), event_time: new Date(ms).toISOString(), event_ms: ms };
      });
      const path = join(dir, `lag-${seed}.ndjson`);
      writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const sql = `
        CREATE TABLE passages (seq BIGINT, plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
          WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND);
        SELECT seq, plate, LAG(amount_cents) OVER w AS prev, LAG(amount_cents, 2, -1) OVER w AS prev2,
          LAG(amount_cents, 1, 0) OVER (PARTITION BY plate ORDER BY event_time RANGE BETWEEN INTERVAL '30' SECOND PRECEDING AND CURRENT ROW) AS near
        FROM passages
        WINDOW w AS (PARTITION BY plate ORDER BY event_time);`;
      const result = await runQuery({ sql, inputs: { passages: path }, batchSize: 64 });
      expect(result.errors).toEqual([]);

      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        await db.run(`CREATE TABLE s AS SELECT * FROM read_json('${path.replace(/'/g, "''")}',
          columns = {seq: 'BIGINT', plate: 'VARCHAR', amount_cents: 'BIGINT', event_ms: 'BIGINT'})`);
        const expected = (await db.runAndReadAll(`
          SELECT seq, plate, LAG(amount_cents) OVER w AS prev, LAG(amount_cents, 2, -1) OVER w AS prev2,
            CASE WHEN event_ms - LAG(event_ms) OVER w <= 30000 THEN LAG(amount_cents) OVER w ELSE 0 END AS near
          FROM s WINDOW w AS (PARTITION BY plate ORDER BY event_ms, seq)
          ORDER BY seq`)).getRowObjectsJS() as Record<string, unknown>[];
        const num = (v: unknown) => (v === null ? null : Number(v));
        const norm = (r: Record<string, unknown>) => ({ seq: Number(r.seq), plate: r.plate, prev: num(r.prev), prev2: num(r.prev2), near: num(r.near) });
        const ours = result.streams.result!.map(norm).sort((a, b) => a.seq - b.seq);
        expect(ours).toEqual(expected.map(norm));
        // The rows exercise every branch: a first row of a plate, a previous row beyond 30 s, and within.
        expect(ours.some((r) => r.prev === null) && ours.some((r) => r.near === 0 && r.prev !== null) && ours.some((r) => r.near !== 0)).toBe(true);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    });
  }
});

describe('deduplication and ORDER BY time agree with DuckDB', () => {
  for (const seed of [21, 909]) {
    it(`the first row per plate by event time (rn = 1), the first 3 per plate, and ORDER BY time LIMIT 50 (seed ${seed})`, async () => {
      const rnd = random(seed);
      let clock = Date.UTC(2026, 2, 2, 8);
      const records = Array.from({ length: 2000 }, (_, seq) => {
        clock += 1000 * Math.floor(rnd() * 3);
        const ms = clock - 1000 * Math.floor(rnd() * 20);
        return { seq, _partition: `shard-${Math.floor(rnd() * 3)}`, plate: `P-${Math.floor(rnd() * 300)}`, event_time: new Date(ms).toISOString(), event_ms: ms };
      });
      const path = join(dir, `dedup-${seed}.ndjson`);
      writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const sql = `
        CREATE TABLE passages (seq BIGINT, plate VARCHAR(16), event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND);
        SELECT seq, plate FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY event_time) AS rn FROM passages) WHERE rn = 1;
        SELECT seq, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY event_time) AS rn FROM passages) WHERE rn <= 3;
        SELECT seq, event_time FROM passages ORDER BY event_time, seq LIMIT 50;`;
      const result = await runQuery({ sql, inputs: { passages: path }, batchSize: 64 });
      expect(result.errors).toEqual([]);
      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        await db.run(`CREATE TABLE s AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {seq: 'BIGINT', plate: 'VARCHAR', event_ms: 'BIGINT'})`);
        const read = async (q: string) => ((await db.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[]).map((r) => JSON.stringify(Object.values(r).map((v) => (typeof v === 'bigint' ? Number(v) : v))));
        // Ties on event time go to the first to arrive, which is the lower seq here.
        const first = await read(`SELECT seq, plate FROM s QUALIFY ROW_NUMBER() OVER (PARTITION BY plate ORDER BY event_ms, seq) = 1 ORDER BY seq`);
        const firstThree = await read(`SELECT seq, rn FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY event_ms, seq) AS rn FROM s) WHERE rn <= 3 ORDER BY seq`);
        const limited = await read(`SELECT seq FROM s ORDER BY event_ms, seq LIMIT 50`);
        const ours = (rows: Record<string, unknown>[], cols: string[]) => rows.map((r) => JSON.stringify(cols.map((c) => r[c])));
        const bySeq = (a: string, b: string) => (JSON.parse(a) as number[])[0]! - (JSON.parse(b) as number[])[0]!;
        expect(first.length).toBeGreaterThan(200);
        expect(ours(result.streams.result!, ['seq', 'plate']).sort(bySeq)).toEqual(first);
        expect(ours(result.streams.result_2!, ['seq', 'rn']).sort(bySeq)).toEqual(firstThree);
        // ORDER BY time: the rows leave in that order, not just as the same set.
        expect(ours(result.streams.result_3!, ['seq'])).toEqual(limited);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    });
  }
});

describe('UNION ALL and WITH agree with DuckDB', () => {
  for (const seed of [13, 9001]) {
    it(`two out-of-order streams over three shards each, united in a WITH query, counted per TUMBLE window (seed ${seed})`, async () => {
      const east = generate(seed, 2000);
      // The west stream starts 7 minutes later, so the union's watermark is held back by east for a while.
      const west = generate(seed + 1, 2000).map((p) => ({ ...p, event_ms: p.event_ms + 420_000, event_time: new Date(p.event_ms + 420_000).toISOString() }));
      const eastPath = join(dir, `union-east-${seed}.ndjson`);
      const westPath = join(dir, `union-west-${seed}.ndjson`);
      writeFileSync(eastPath, east.map((p) => JSON.stringify(p)).join('\n') + '\n');
      writeFileSync(westPath, west.map((p) => JSON.stringify(p)).join('\n') + '\n');
      const sql = `
        CREATE TABLE east (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
          WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND) WITH ('stream' = 'east');
        CREATE TABLE west (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
          WATERMARK FOR event_time AS event_time - INTERVAL '20' SECOND) WITH ('stream' = 'west');
        WITH tolls AS (
          SELECT plaza_id, amount_cents, event_time FROM east
          UNION ALL
          SELECT plaza_id + 10, amount_cents, event_time FROM west WHERE amount_cents >= 500
        )
        SELECT window_start, plaza_id, COUNT(*) AS n, SUM(amount_cents) AS total
        FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '2' MINUTE))
        GROUP BY window_start, window_end, plaza_id;`;
      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      let theirs: string[];
      try {
        const load = (table: string, path: string) =>
          db.run(`CREATE TABLE ${table} AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {plaza_id: 'INTEGER', amount_cents: 'BIGINT', event_ms: 'BIGINT'})`);
        await load('east', eastPath);
        await load('west', westPath);
        const rows = (await db.runAndReadAll(`
          WITH tolls AS (
            SELECT plaza_id, amount_cents, event_ms FROM east
            UNION ALL
            SELECT plaza_id + 10, amount_cents, event_ms FROM west WHERE amount_cents >= 500)
          SELECT (event_ms // 120000) * 120000 AS ws, plaza_id, COUNT(*) AS n, SUM(amount_cents) AS total
          FROM tolls GROUP BY ws, plaza_id`)).getRowObjectsJS() as Record<string, unknown>[];
        theirs = rows.map((r) => JSON.stringify([Number(r.ws), Number(r.plaza_id), Number(r.n), Number(r.total)])).sort();
      } finally {
        db.closeSync();
        instance.closeSync();
      }
      expect(theirs.length).toBeGreaterThan(100);
      for (const batchSize of [2, 512]) {
        const result = await runQuery({ sql, inputs: { east: eastPath, west: westPath }, batchSize });
        expect(result.errors).toEqual([]);
        const ours = result.streams.result!.map((r) => JSON.stringify([Date.parse(r.window_start as string), r.plaza_id, r.n, r.total])).sort();
        expect(ours).toEqual(theirs);
      }
    });
  }
});

describe('IN and EXISTS subqueries agree with DuckDB', () => {
  it('IN over a reference table, NOT EXISTS over it, IN over VALUES, with extra conditions in the subqueries', async () => {
    const passages = generate(47, 3000);
    const path = join(dir, 'subqueries.ndjson');
    writeFileSync(path, passages.map((p) => JSON.stringify(p)).join('\n') + '\n');
    // Plazas 1..4 are known (5 and 6 are not), two of them twice; a surcharge flag per row.
    const plazas = [[1, 250, 1], [2, 90, 0], [3, 400, 1], [3, 120, 0], [4, 60, 1], [4, 75, 0]];
    const csv = join(dir, 'subquery-plazas.csv');
    writeFileSync(csv, 'plaza_id,toll_cents,surcharge\n' + plazas.map((r) => r.join(',')).join('\n') + '\n');
    const plates = Array.from({ length: 20 }, (_, i) => `'P-${i * 3}'`);
    const sql = `
      CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
        WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND) WITH ('stream' = 'tolls');
      CREATE TABLE plazas (plaza_id INT, toll_cents BIGINT, surcharge INT) WITH ('format' = 'csv', 'path' = '${csv.replace(/'/g, "''")}');
      SELECT plate, plaza_id, amount_cents FROM tolls WHERE plaza_id IN (SELECT plaza_id FROM plazas WHERE surcharge = 1) AND amount_cents > 500;
      SELECT plate, plaza_id, amount_cents FROM tolls t WHERE NOT EXISTS (SELECT 1 FROM plazas p WHERE p.plaza_id = t.plaza_id AND p.toll_cents > t.amount_cents / 10);
      SELECT plate, plaza_id, amount_cents FROM tolls WHERE plate IN (SELECT v FROM (VALUES ${plates.map((p) => `(${p})`).join(', ')}, ('P-3')) AS x(v));`;
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const theirs: string[][] = [];
    try {
      await db.run(`CREATE TABLE tolls AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {plate: 'VARCHAR', plaza_id: 'INTEGER', amount_cents: 'BIGINT'})`);
      await db.run(`CREATE TABLE plazas AS SELECT * FROM read_csv('${csv.replace(/'/g, "''")}', header = true)`);
      for (const q of [
        'SELECT plate, plaza_id, amount_cents FROM tolls WHERE plaza_id IN (SELECT plaza_id FROM plazas WHERE surcharge = 1) AND amount_cents > 500',
        'SELECT plate, plaza_id, amount_cents FROM tolls t WHERE NOT EXISTS (SELECT 1 FROM plazas p WHERE p.plaza_id = t.plaza_id AND p.toll_cents > t.amount_cents // 10)',
        `SELECT plate, plaza_id, amount_cents FROM tolls WHERE plate IN (SELECT v FROM (VALUES ${plates.map((p) => `(${p})`).join(', ')}, ('P-3')) AS x(v))`,
      ]) {
        const rows = (await db.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[];
        theirs.push(rows.map((r) => JSON.stringify([r.plate, Number(r.plaza_id), Number(r.amount_cents)])).sort());
      }
    } finally {
      db.closeSync();
      instance.closeSync();
    }
    for (const t of theirs) expect(t.length).toBeGreaterThan(100);
    for (const batchSize of [2, 512]) {
      const result = await runQuery({ sql, inputs: { tolls: path }, batchSize });
      expect(result.errors).toEqual([]);
      ['result', 'result_2', 'result_3'].forEach((stream, i) => {
        const ours = result.streams[stream]!.map((r) => JSON.stringify([r.plate, r.plaza_id, r.amount_cents])).sort();
        expect(ours, stream).toEqual(theirs[i]);
      });
    }
  });
});

describe('window columns inside aggregates and the variances agree with DuckDB', () => {
  it('HOP counts split by window_start in FILTER, an argument reading window_end, and VAR_POP/STDDEV_SAMP, out-of-order input over three shards', async () => {
    const passages = generate(77, 3000);
    const path = join(dir, 'window-columns.ndjson');
    writeFileSync(path, passages.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const sql = `
      CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
        WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND);
      SELECT window_start, plaza_id,
        COUNT(*) FILTER (WHERE event_time < window_start + INTERVAL '2' MINUTE) AS early,
        SUM(amount_cents) FILTER (WHERE event_time >= window_end - INTERVAL '1' MINUTE) AS last_minute,
        MAX(window_end - event_time) AS oldest, VAR_POP(amount_cents) AS vp, STDDEV_SAMP(amount_cents) AS ss
      FROM TABLE(HOP(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))
      GROUP BY window_start, window_end, window_time, plaza_id;`;
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    let theirs: (number | null)[][];
    try {
      await db.run(`CREATE TABLE tolls AS SELECT * FROM read_json('${path.replace(/'/g, "''")}',
        columns = {plaza_id: 'INTEGER', amount_cents: 'BIGINT', event_ms: 'BIGINT'})`);
      theirs = ((await db.runAndReadAll(`
        WITH w AS (SELECT *, (event_ms // 60000) * 60000 - k * 60000 AS ws FROM tolls CROSS JOIN range(0, 5) AS r(k))
        SELECT ws, plaza_id, COUNT(*) FILTER (WHERE event_ms < ws + 120000) AS early,
               SUM(amount_cents) FILTER (WHERE event_ms >= ws + 300000 - 60000) AS last_minute,
               MAX(ws + 300000 - event_ms) AS oldest, VAR_POP(amount_cents) AS vp, STDDEV_SAMP(amount_cents) AS ss
        FROM w GROUP BY ws, plaza_id`)).getRowObjectsJS() as Record<string, unknown>[]).map((r) =>
        [r.ws, r.plaza_id, r.early, r.last_minute, r.oldest, r.vp, r.ss].map((v) => (v === null ? null : Number(v))),
      );
    } finally {
      db.closeSync();
      instance.closeSync();
    }
    const key = (r: (number | null)[]) => `${r[0]}/${r[1]}`;
    theirs.sort((a, b) => key(a).localeCompare(key(b)));
    expect(theirs.length).toBeGreaterThan(200);
    for (const batchSize of [2, 512]) {
      const result = await runQuery({ sql, inputs: { tolls: path }, batchSize });
      expect(result.errors).toEqual([]);
      const ours = result.streams.result!
        .map((r) => [Date.parse(r.window_start as string), r.plaza_id, r.early, r.last_minute, r.oldest, r.vp, r.ss].map((v) => (v === null ? null : Number(v))))
        .sort((a, b) => key(a).localeCompare(key(b)));
      expect(ours.length).toBe(theirs.length);
      ours.forEach((row, i) => {
        const want = theirs[i]!;
        // Exact integers for the counts, sums and ages; the variances are doubles summed in another order.
        expect(row.slice(0, 5), key(row)).toEqual(want.slice(0, 5));
        for (const j of [5, 6]) {
          if (want[j] === null) expect(row[j], key(row)).toBeNull();
          else expect(row[j]!, key(row)).toBeCloseTo(want[j]!, 6);
        }
      });
    }
  });
});

describe('set operations and window offsets agree with DuckDB', () => {
  for (const seed of [21, 4242]) {
    it(`UNION, INTERSECT [ALL] and EXCEPT [ALL] of two out-of-order streams, and TUMBLE with an offset (seed ${seed})`, async () => {
      const east = generate(seed, 1500);
      const west = generate(seed + 7, 1500);
      const eastPath = join(dir, `setops-east-${seed}.ndjson`);
      const westPath = join(dir, `setops-west-${seed}.ndjson`);
      writeFileSync(eastPath, east.map((p) => JSON.stringify(p)).join('\n') + '\n');
      writeFileSync(westPath, west.map((p) => JSON.stringify(p)).join('\n') + '\n');
      // Few plates and plazas, so rows repeat within and across the streams.
      const listed = "('P-1', 1), ('P-2', 2), ('P-2', 2), ('P-3', 3)";
      const sql = `
        CREATE TABLE east (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
          WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND) WITH ('stream' = 'east');
        CREATE TABLE west (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
          WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND) WITH ('stream' = 'west');
        CREATE TABLE u (plate VARCHAR(16), plaza_id INT) WITH ('stream' = 'u');
        CREATE TABLE i (plate VARCHAR(16), plaza_id INT) WITH ('stream' = 'i');
        CREATE TABLE ia (plate VARCHAR(16), plaza_id INT) WITH ('stream' = 'ia');
        CREATE TABLE e (plate VARCHAR(16), plaza_id INT) WITH ('stream' = 'e');
        CREATE TABLE ea (plate VARCHAR(16), plaza_id INT) WITH ('stream' = 'ea');
        CREATE TABLE shifted (window_start TIMESTAMP(3), plaza_id INT, n BIGINT) WITH ('stream' = 'shifted');
        INSERT INTO u SELECT plate, plaza_id FROM east UNION SELECT plate, plaza_id FROM west;
        INSERT INTO i SELECT plate, plaza_id FROM east INTERSECT SELECT plate, plaza_id FROM west;
        INSERT INTO ia SELECT plate, plaza_id FROM east INTERSECT ALL SELECT plate, plaza_id FROM west;
        INSERT INTO e SELECT plate, plaza_id FROM east EXCEPT VALUES ${listed};
        INSERT INTO ea SELECT plate, plaza_id FROM east EXCEPT ALL VALUES ${listed};
        INSERT INTO shifted SELECT window_start, plaza_id, COUNT(*)
          FROM TABLE(TUMBLE(DATA => TABLE east, TIMECOL => DESCRIPTOR(event_time), SIZE => INTERVAL '2' MINUTE, OFFSET => INTERVAL '-45' SECOND))
          GROUP BY window_start, window_end, plaza_id;`;
      const queries: Record<string, string> = {
        u: 'SELECT plate, plaza_id FROM east UNION SELECT plate, plaza_id FROM west',
        i: 'SELECT plate, plaza_id FROM east INTERSECT SELECT plate, plaza_id FROM west',
        ia: 'SELECT plate, plaza_id FROM east INTERSECT ALL SELECT plate, plaza_id FROM west',
        e: `SELECT plate, plaza_id FROM east EXCEPT SELECT * FROM (VALUES ${listed})`,
        ea: `SELECT plate, plaza_id FROM east EXCEPT ALL SELECT * FROM (VALUES ${listed})`,
        shifted: 'SELECT ((event_ms + 45000) // 120000) * 120000 - 45000 AS window_start, plaza_id, COUNT(*) AS n FROM east GROUP BY 1, 2',
      };
      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      const theirs: Record<string, string[]> = {};
      try {
        const load = (table: string, path: string) =>
          db.run(`CREATE TABLE ${table} AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {plate: 'VARCHAR', plaza_id: 'INTEGER', event_ms: 'BIGINT'})`);
        await load('east', eastPath);
        await load('west', westPath);
        for (const [name, q] of Object.entries(queries)) {
          const rows = (await db.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[];
          theirs[name] = rows.map((r) => JSON.stringify(Object.values(r).map((v) => (typeof v === 'bigint' ? Number(v) : v)))).sort();
        }
      } finally {
        db.closeSync();
        instance.closeSync();
      }
      // The sets are neither empty nor the whole input, so each operation decides something.
      expect(theirs.i!.length).toBeGreaterThan(10);
      expect(theirs.ia!.length).toBeGreaterThan(theirs.i!.length);
      expect(theirs.ea!.length).toBeLessThan(east.length);
      for (const batchSize of [2, 512]) {
        const result = await runQuery({ sql, inputs: { east: eastPath, west: westPath }, batchSize });
        expect(result.errors).toEqual([]);
        for (const name of Object.keys(queries)) {
          const ours = result.streams[name]!.map((r) =>
            JSON.stringify(Object.values(r).map((v) => (name === 'shifted' && typeof v === 'string' ? Date.parse(v) : v))),
          ).sort();
          expect(ours, name).toEqual(theirs[name]);
        }
      }
    });
  }
});

describe('Kinesis Analytics stream-to-stream joins over a window agree with DuckDB', () => {
  // A window keeps a row less than its range: OrderStream o JOIN TradeStream OVER (RANGE r PRECEDING) t joins
  // trades of (o - r, o]; with windows on both sides, rows less than the other side's range apart. The joined
  // row's ROWTIME is the later of the two (a padded row's, its own); a padded side's ROWTIME is NULL.
  const runs: [string, string, string, number, number][] = [
    ['JOIN', '', "OVER (RANGE INTERVAL '1' MINUTE PRECEDING)", 0, 60_000],
    ['LEFT JOIN', '', "OVER (RANGE INTERVAL '1' MINUTE PRECEDING)", 0, 60_000],
    ['JOIN', "OVER (RANGE INTERVAL '90' SECOND PRECEDING)", '', 90_000, 0],
    ['RIGHT JOIN', "OVER (RANGE INTERVAL '90' SECOND PRECEDING)", '', 90_000, 0],
    ['JOIN', "OVER (RANGE INTERVAL '30' SECOND PRECEDING)", "OVER (RANGE INTERVAL '1' MINUTE PRECEDING)", 30_000, 60_000],
  ];
  for (const [kind, leftOver, rightOver, leftRange, rightRange] of runs) {
    it(`o ${leftOver || '(current row)'} ${kind} t ${rightOver || '(current row)'}`, async () => {
      const rnd = random(leftRange + 3 * rightRange + kind.length);
      const stream = (name: string, count: number) => {
        let arrival = Date.UTC(2026, 2, 2, 8);
        // Whole seconds, so rows exactly a window's range apart (its excluded bound) are common; ties too.
        return Array.from({ length: count }, (_, seq) => {
          arrival += 1000 * Math.floor(rnd() * 4);
          return { id: `${name}-${seq}`, k: Math.floor(rnd() * 12), ms: arrival, _arrival_time: new Date(arrival).toISOString() };
        });
      };
      const orders = stream('o', 1200);
      const trades = stream('t', 1200);
      const ordersPath = join(dir, `kinesis-join-orders-${kind}-${leftRange}-${rightRange}.ndjson`.replace(/ /g, '_'));
      const tradesPath = join(dir, `kinesis-join-trades-${kind}-${leftRange}-${rightRange}.ndjson`.replace(/ /g, '_'));
      writeFileSync(ordersPath, orders.map((r) => JSON.stringify(r)).join('\n') + '\n');
      writeFileSync(tradesPath, trades.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const sql = `
        SELECT STREAM ROWTIME AS rt, o.id AS oid, t.id AS tid, o.ROWTIME AS ot, t.ROWTIME AS tt
        FROM OrderStream ${leftOver} AS o ${kind} TradeStream ${rightOver} AS t ON o.k = t.k;`;
      const result = await runQuery({ sql, inputs: { OrderStream: ordersPath, TradeStream: tradesPath }, batchSize: 37 });
      expect(result.errors).toEqual([]);
      const time = (v: unknown) => (v === null ? null : Date.parse(v as string));
      const ours = result.streams.result!.map((r) => JSON.stringify([time(r.rt), r.oid, r.tid, time(r.ot), time(r.tt)])).sort();

      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        const load = (table: string, path: string) =>
          db.run(`CREATE TABLE ${table} AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {id: 'VARCHAR', k: 'INTEGER', ms: 'BIGINT'})`);
        await load('o', ordersPath);
        await load('t', tradesPath);
        const lower = rightRange === 0 ? 't.ms >= o.ms' : `t.ms > o.ms - ${rightRange}`;
        const upper = leftRange === 0 ? 't.ms <= o.ms' : `t.ms < o.ms + ${leftRange}`;
        const rows = (await db.runAndReadAll(`
          SELECT GREATEST(o.ms, t.ms) AS rt, o.id AS oid, t.id AS tid, o.ms AS ot, t.ms AS tt
          FROM o ${kind} t ON o.k = t.k AND ${lower} AND ${upper}`)).getRowObjectsJS() as Record<string, unknown>[];
        const num = (v: unknown) => (v === null ? null : Number(v));
        const theirs = rows.map((r) => JSON.stringify([num(r.rt), r.oid, r.tid, num(r.ot), num(r.tt)])).sort();
        expect(theirs.length).toBeGreaterThan(500);
        if (kind !== 'JOIN') expect(theirs.some((r) => r.includes('null'))).toBe(true);
        expect(ours).toEqual(theirs);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    });
  }
});

describe('Top-N and keep-last deduplication outside windows agree with DuckDB', () => {
  for (const seed of [5, 4242]) {
    it(`the changes, applied in the order sent, leave the top 3 per plate by amount and the last passage per plate (seed ${seed})`, async () => {
      const rnd = random(seed);
      let clock = Date.UTC(2026, 2, 2, 8);
      // Few amounts and few distinct times, so rows tie (on amount the first to come ranks first; on the
      // latest time the later to come is the last), and times out of order.
      const records = Array.from({ length: 3000 }, (_, seq) => {
        if (rnd() < 0.1) clock += 1000;
        const ms = clock - 1000 * Math.floor(rnd() * 3);
        return { seq, _partition: `shard-${Math.floor(rnd() * 3)}`, plate: `P-${Math.floor(rnd() * 40)}`, amount_cents: 100 * (1 + Math.floor(rnd() * 12)), event_time: new Date(ms).toISOString(), event_ms: ms };
      });
      const path = join(dir, `top-n-${seed}.ndjson`);
      writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const sql = `
        CREATE TABLE passages (seq BIGINT, plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND);
        SELECT plate, seq, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY amount_cents DESC) AS rn FROM passages) WHERE rn <= 3;
        SELECT plate, seq, amount_cents FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY amount_cents DESC) AS rn FROM passages) WHERE rn <= 3;
        SELECT plate, seq FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY event_time DESC) AS rn FROM passages) WHERE rn = 1;`;
      const result = await runQuery({ sql, inputs: { passages: path }, batchSize: 64 });
      expect(result.errors).toEqual([]);
      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        await db.run(`CREATE TABLE s AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {seq: 'BIGINT', plate: 'VARCHAR', amount_cents: 'BIGINT', event_ms: 'BIGINT'})`);
        const read = async (q: string) => ((await db.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[]).map((r) => JSON.stringify(Object.values(r).map((v) => (typeof v === 'bigint' ? Number(v) : v))));
        // Records come in seq order, so "the first to come" is the lower seq and "the later" the higher.
        const top3 = await read(`SELECT plate, seq, rn FROM (SELECT plate, seq, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY amount_cents DESC, seq) AS rn FROM s) WHERE rn <= 3 ORDER BY plate, rn`);
        const last = await read(`SELECT plate, seq FROM s QUALIFY ROW_NUMBER() OVER (PARTITION BY plate ORDER BY event_ms DESC, seq DESC) = 1 ORDER BY plate`);
        const tiedLast = await read(`SELECT plate FROM s GROUP BY plate HAVING count(*) FILTER (WHERE event_ms = (SELECT max(event_ms) FROM s t WHERE t.plate = s.plate)) > 1`);
        expect(tiedLast.length).toBeGreaterThan(0);
        const byPlate = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

        // With the number: the row last sent for (plate, rn) holds that place.
        const places = new Map<string, { plate: string; seq: number; rn: number }>();
        for (const r of result.streams.result!) places.set(`${String(r.plate)}|${String(r.rn)}`, { plate: String(r.plate), seq: Number(r.seq), rn: Number(r.rn) });
        const ours = [...places.values()].sort((a, b) => byPlate(a.plate, b.plate) || a.rn - b.rn).map((r) => JSON.stringify([r.plate, r.seq, r.rn]));
        expect(ours).toEqual(top3);
        expect(result.streams.result!.length).toBeGreaterThan(top3.length * 2);

        // Without it: only the rows entering were sent; the best 3 of them per plate are the top 3.
        const sent = new Map<string, { seq: number; amount: number }[]>();
        for (const r of result.streams.result_2!) {
          const list = sent.get(String(r.plate)) ?? [];
          list.push({ seq: Number(r.seq), amount: Number(r.amount_cents) });
          sent.set(String(r.plate), list);
        }
        const reRanked = [...sent.entries()]
          .sort(([a], [b]) => byPlate(a, b))
          .flatMap(([plate, list]) => list.sort((a, b) => b.amount - a.amount || a.seq - b.seq).slice(0, 3).map((r, i) => JSON.stringify([plate, r.seq, i + 1])));
        expect(reRanked).toEqual(top3);
        expect(result.streams.result_2!.length).toBeLessThan(result.streams.result!.length);

        // Keep-last: the row last sent for a plate is its latest passage (of one time, the later to come).
        const kept = new Map<string, number>();
        for (const r of result.streams.result_3!) kept.set(String(r.plate), Number(r.seq));
        expect([...kept.entries()].sort(([a], [b]) => byPlate(a, b)).map(([plate, seq]) => JSON.stringify([plate, seq]))).toEqual(last);
        expect(result.streams.result_3!.length).toBeGreaterThan(last.length);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    });
  }
});
