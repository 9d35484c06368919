/**
 * Differential test of Flink's string functions that DuckDB has with the same meaning: random texts (letters,
 * digits, spaces, punctuation, accents, emoji, NULLs) through TRANSLATE, BTRIM, CHR, REGEXP_COUNT,
 * REGEXP_INSTR, REGEXP_SUBSTR and PRINTF here, and through DuckDB's translate, trim, chr, regexp_extract_all,
 * regexp_extract and printf, row for row. Numbers are never exact ties at the printed precision, where Java
 * (half up) and C (half to even) round differently. And LISTAGG over TUMBLE and HOP windows of out-of-order
 * passages against DuckDB's string_agg ordered by arrival; and IS JSON, JSON_EXISTS and JSON_VALUE over random
 * JSON texts against DuckDB's json_valid, json_type, json_exists and json_extract_string.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.ts';
import { runQuery } from '../../src/sql/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollstream-sql-strings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  const generator = new Random(seed);
  return () => generator.next();
}

const ALPHABET = [...'abcABC xyz019/.-_éü😀'];

interface TextRow {
  id: number;
  s: string | null;
  n: number;
  d: number;
}

function generate(seed: number, count: number): TextRow[] {
  const rnd = random(seed);
  const text = () => Array.from({ length: Math.floor(rnd() * 12) }, () => ALPHABET[Math.floor(rnd() * ALPHABET.length)]).join('');
  return Array.from({ length: count }, (_, id) => ({
    id,
    s: rnd() < 0.1 ? null : text(),
    n: Math.floor(rnd() * 2_000_000) - 1_000_000,
    // Not rounded to a few decimals: a tie (2365.625 to two decimals) is rounded half up by Java, to even by C.
    d: (rnd() - 0.5) * 1e4,
  }));
}

/** Both sides' expressions, by output column. Patterns use no features where JavaScript's and RE2's matching differ. */
const COLUMNS: readonly (readonly [string, string, string])[] = [
  ['tr', "TRANSLATE(s, 'abcé/', 'XY-')", "translate(s, 'abcé/', 'XY-')"],
  ['bt', "BTRIM(s, ' a/😀')", "trim(s, ' a/😀')"],
  ['bt_space', 'BTRIM(s)', "trim(s, ' ')"],
  ['ch', 'CHR(MOD(ABS(n), 255) + 1)', 'chr((abs(n) % 255 + 1)::INTEGER)'],
  ['rc', "REGEXP_COUNT(s, '[a-c]+|[0-9]')", "len(regexp_extract_all(s, '[a-c]+|[0-9]'))"],
  ['ri', "REGEXP_INSTR(s, '[xyz]{2}|[0-9]+')", "CASE WHEN s IS NULL THEN NULL WHEN regexp_matches(s, '[xyz]{2}|[0-9]+') THEN strpos(s, regexp_extract(s, '[xyz]{2}|[0-9]+')) ELSE 0 END"],
  ['rs', "REGEXP_SUBSTR(s, '[A-C][a-z]*')", "CASE WHEN regexp_matches(s, '[A-C][a-z]*') THEN regexp_extract(s, '[A-C][a-z]*') END"],
  ['pf_int', "PRINTF('%d|%8d|%-8d|%08d|%x|%o', n, n, n, n, ABS(n), ABS(n))", "printf('%d|%8d|%-8d|%08d|%x|%o', n, n, n, n, abs(n), abs(n))"],
  ['pf_double', "PRINTF('%.2f|%10.3f|%e|%.1e', d, d, d, d)", "printf('%.2f|%10.3f|%e|%.1e', d, d, d, d)"],
  ['pf_text', "PRINTF('[%s] [%6s] [%-6s]', s, id, id)", "CASE WHEN s IS NULL THEN printf('[null] [%6s] [%-6s]', id::VARCHAR, id::VARCHAR) ELSE printf('[%s] [%6s] [%-6s]', s, id::VARCHAR, id::VARCHAR) END"],
];

async function duckdbRows(path: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    await db.run(`CREATE TABLE texts AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {id: 'BIGINT', s: 'VARCHAR', n: 'BIGINT', d: 'DOUBLE'})`);
    const reader = await db.runAndReadAll(`SELECT id, ${COLUMNS.map(([name, , duck]) => `${duck} AS ${name}`).join(', ')} FROM texts ORDER BY id`);
    return (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

describe("Flink's string functions agree with DuckDB's", () => {
  for (const seed of [3, 1789]) {
    it(`TRANSLATE, BTRIM, CHR, REGEXP_COUNT/INSTR/SUBSTR and PRINTF over random texts (seed ${seed})`, async () => {
      const rows = generate(seed, 1500);
      const path = join(dir, `texts-${seed}.ndjson`);
      writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const sql = `CREATE TABLE texts (id BIGINT, s VARCHAR(32), n BIGINT, d DOUBLE) WITH ('stream' = 'texts');
        SELECT id, ${COLUMNS.map(([name, flink]) => `${flink} AS ${name}`).join(', ')} FROM texts;`;
      const result = await runQuery({ sql, inputs: { texts: path }, batchSize: 97 });
      expect(result.errors).toEqual([]);
      const ours = [...result.streams.result!].sort((a, b) => Number(a.id) - Number(b.id));
      const theirs = await duckdbRows(path);
      expect(ours.length).toBe(rows.length);
      // Every column must see texts that change, so the comparison is not of NULLs or a constant alone.
      for (const [name] of COLUMNS) expect(new Set(theirs.map((r) => JSON.stringify(r[name]))).size, name).toBeGreaterThan(5);
      expect(ours).toEqual(theirs);
    });
  }
});

interface Passage {
  seq: number;
  plaza: string;
  plate: string | null;
  event_time: string;
  event_ms: number;
}

/** Passages up to 20 s out of order (the watermark allows 30 s, so none is late), some plates NULL. */
function passages(seed: number, count: number): Passage[] {
  const rnd = random(seed);
  let clock = Date.UTC(2026, 2, 2, 7, 58, 13, 250);
  return Array.from({ length: count }, (_, seq) => {
    clock += Math.floor(rnd() * 3000);
    const ms = clock - Math.floor(rnd() * 20_000);
    return { seq, plaza: `P${Math.floor(rnd() * 4)}`, plate: rnd() < 0.1 ? null : `C-${Math.floor(rnd() * 40)}`, event_time: new Date(ms).toISOString(), event_ms: ms };
  });
}

describe("LISTAGG agrees with DuckDB's string_agg in arrival order", () => {
  it('TUMBLE and HOP windows over out-of-order passages, with DISTINCT and a separator', async () => {
    const rows = passages(99, 2500);
    const path = join(dir, 'passages.ndjson');
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const sql = `CREATE TABLE tolls (seq BIGINT, plaza VARCHAR(4), plate VARCHAR(8), event_time TIMESTAMP(3),
        WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND) WITH ('stream' = 'tolls');
      CREATE TABLE tumbling (window_start TIMESTAMP(3), plaza VARCHAR(4), plates VARCHAR(4096), kinds VARCHAR(4096)) WITH ('stream' = 'tumbling');
      CREATE TABLE hopping (window_start TIMESTAMP(3), plaza VARCHAR(4), plates VARCHAR(4096)) WITH ('stream' = 'hopping');
      INSERT INTO tumbling SELECT window_start, plaza, LISTAGG(plate, '|'), LISTAGG(DISTINCT plate)
        FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '2' MINUTE)) GROUP BY window_start, window_end, plaza;
      INSERT INTO hopping SELECT window_start, plaza, LISTAGG(plate, ' ')
        FROM TABLE(HOP(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '3' MINUTE)) GROUP BY window_start, window_end, plaza;`;
    const result = await runQuery({ sql, inputs: { tolls: path }, batchSize: 61 });
    expect(result.errors).toEqual([]);
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`CREATE TABLE tolls AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {seq: 'BIGINT', plaza: 'VARCHAR', plate: 'VARCHAR', event_ms: 'BIGINT'})`);
      const read = async (q: string) => ((await db.runAndReadAll(q)).getRowObjectsJS() as Record<string, unknown>[]).map((r) => JSON.stringify([Number(r.ws), r.plaza, r.plates, r.kinds ?? null])).sort();
      // DuckDB's string_agg(DISTINCT ...) takes no ORDER BY of another column: the first arrival of each plate orders them.
      const tumbling = await read(`
        WITH firsts AS (SELECT event_ms // 120000 * 120000 AS ws, plaza, plate, MIN(seq) AS first_seq FROM tolls WHERE plate IS NOT NULL GROUP BY ALL)
        SELECT t.ws, t.plaza, t.plates, d.kinds FROM
          (SELECT event_ms // 120000 * 120000 AS ws, plaza, string_agg(plate, '|' ORDER BY seq) AS plates FROM tolls GROUP BY ALL) t
          LEFT JOIN (SELECT ws, plaza, string_agg(plate, ',' ORDER BY first_seq) AS kinds FROM firsts GROUP BY ALL) d USING (ws, plaza)`);
      const hopping = await read(`
        SELECT event_ms // 60000 * 60000 - k * 60000 AS ws, plaza, string_agg(plate, ' ' ORDER BY seq) AS plates
        FROM tolls CROSS JOIN range(0, 3) AS r(k) GROUP BY ALL`);
      const ours = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify([Date.parse(r.window_start as string), r.plaza, r.plates, r.kinds ?? null])).sort();
      expect(tumbling.length).toBeGreaterThan(100);
      expect(ours(result.streams.tumbling!)).toEqual(tumbling);
      expect(ours(result.streams.hopping!)).toEqual(hopping);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});

/** Random JSON texts: objects with a few members of each kind, some arrays, some broken text, NULLs. */
function jsonTexts(seed: number, count: number): { id: number; body: string | null }[] {
  const rnd = random(seed);
  const scalar = (): unknown => [() => Math.floor(rnd() * 2000) - 1000, () => `t${Math.floor(rnd() * 50)}`, () => rnd() < 0.5, () => null][Math.floor(rnd() * 4)]!();
  const value = (depth: number): unknown => {
    const r = rnd();
    if (depth > 1 || r < 0.6) return scalar();
    if (r < 0.8) return Array.from({ length: Math.floor(rnd() * 3) }, () => value(depth + 1));
    return object(depth + 1);
  };
  const object = (depth: number) => Object.fromEntries(['a', 'b', 'c'].filter(() => rnd() < 0.7).map((k) => [k, value(depth)]));
  return Array.from({ length: count }, (_, id) => {
    const r = rnd();
    const text = r < 0.08 ? null : r < 0.14 ? `{"a": ${Math.floor(rnd() * 9)}` : r < 0.22 ? JSON.stringify([value(1)]) : JSON.stringify(object(0));
    return { id, body: text };
  });
}

describe("Flink's JSON functions agree with DuckDB's", () => {
  it('IS JSON, JSON_EXISTS and JSON_VALUE over random JSON texts, broken ones and NULLs', async () => {
    const rows = jsonTexts(11, 1500);
    const path = join(dir, 'json.ndjson');
    writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const sql = `CREATE TABLE docs (id BIGINT, body VARCHAR(512)) WITH ('stream' = 'docs');
      SELECT id, body IS JSON AS valid, body IS JSON OBJECT AS is_object, JSON_EXISTS(body, 'strict $.a') AS has_a,
        JSON_VALUE(body, '$.a') AS a, JSON_VALUE(body, '$.c[1]') AS c1 FROM docs;`;
    const result = await runQuery({ sql, inputs: { docs: path }, batchSize: 97 });
    expect(result.errors).toEqual([]);
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`CREATE TABLE docs AS SELECT * FROM read_json('${path.replace(/'/g, "''")}', columns = {id: 'BIGINT', body: 'VARCHAR'})`);
      // DuckDB reads a scalar's text with json_extract_string; an object, an array or JSON null is no scalar.
      // Its JSON functions fail on text that is not JSON, so they read only the valid texts (good).
      const scalar = (p: string) => `CASE WHEN json_type(good, '${p}') NOT IN ('OBJECT', 'ARRAY', 'NULL') THEN json_extract_string(good, '${p}') END`;
      const reader = await db.runAndReadAll(`WITH v AS (SELECT id, body, CASE WHEN json_valid(body) THEN body END AS good FROM docs)
        SELECT id, coalesce(json_valid(body), false) AS valid, coalesce(json_type(good) = 'OBJECT', false) AS is_object,
          CASE WHEN body IS NULL THEN NULL WHEN good IS NULL THEN false ELSE json_exists(good, '$.a') END AS has_a,
          ${scalar('$.a')} AS a, ${scalar('$.c[1]')} AS c1
        FROM v ORDER BY id`);
      const theirs = (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r): Record<string, unknown> => ({ ...r, id: Number(r.id) }));
      const ours = [...result.streams.result!].sort((x, y) => Number(x.id) - Number(y.id));
      for (const column of ['valid', 'is_object', 'has_a', 'a', 'c1']) expect(new Set(theirs.map((r) => JSON.stringify(r[column]))).size, column).toBeGreaterThan(1);
      expect(ours).toEqual(theirs);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});
