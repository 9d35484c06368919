/** `tollstream query`: NDJSON rows on stdout with `_stream`, errors on stderr, exit codes. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runQueryCommand } from '../../src/sql/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollstream-query-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

const sqlPath = join(dir, 'query.sql');
const inputPath = join(dir, 'tolls.ndjson');
writeFileSync(
  sqlPath,
  `CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
   CREATE TABLE big (plate VARCHAR(16), amount_cents BIGINT) WITH ('stream' = 'big');
   INSERT INTO big SELECT plate, amount_cents FROM tolls WHERE amount_cents >= 500;`,
);
writeFileSync(
  inputPath,
  [
    { plate: 'A', amount_cents: 700, event_time: '2026-03-02T08:00:00Z' },
    { plate: 'B', amount_cents: 100, event_time: '2026-03-02T08:00:01Z' },
    { plate: 'C', amount_cents: 'x', event_time: '2026-03-02T08:00:02Z' },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n'),
);

describe('runQueryCommand', () => {
  it('prints output rows and error-stream rows as NDJSON with _stream, and a summary on stderr', async () => {
    const c = io();
    const code = await runQueryCommand(['--sql', sqlPath, '--input', `tolls=${inputPath}`], c.io);
    expect(code).toBe(0);
    const rows = c.out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.filter((r) => r._stream === 'big')).toEqual([{ _stream: 'big', plate: 'A', amount_cents: 700 }]);
    expect(rows.filter((r) => r._stream === 'error_stream').map((r) => r.ERROR_NAME)).toEqual(['PARSE_ERROR']);
    expect(c.err.join('')).toContain('1 PARSE_ERROR');
  });

  it('prints the plan with --explain', async () => {
    const c = io();
    expect(await runQueryCommand([`--sql=${sqlPath}`, '--input', `tolls=${inputPath}`, '--explain'], c.io)).toBe(0);
    expect(c.out.join('')).toContain('Source [input=tolls');
  });

  it('exits 2 on bad usage and 1 on a SQL error, with the message on stderr', async () => {
    const usage = io();
    expect(await runQueryCommand(['--input', 'nonsense'], usage.io)).toBe(2);
    expect(usage.err.join('')).toContain('usage: tollstream query');
    const bad = join(dir, 'bad.sql');
    writeFileSync(bad, 'SELECT FROM tolls');
    const failing = io();
    expect(await runQueryCommand(['--sql', bad, '--input', `tolls=${inputPath}`], failing.io)).toBe(1);
    expect(failing.err.join('')).toMatch(/^error: line 1, column 8: [^]*\(SQL_SYNTAX\)\n$/);
  });

  it('plans in the dialect --dialect names (UNIX_TIMESTAMP: seconds in Flink, milliseconds in Kinesis Analytics)', async () => {
    const sql = join(dir, 'unix.sql');
    writeFileSync(sql, `CREATE TABLE tolls (plate VARCHAR(16), event_time TIMESTAMP(3)); SELECT UNIX_TIMESTAMP(event_time) AS u FROM tolls;`);
    const run = async (...extra: string[]) => {
      const c = io();
      expect(await runQueryCommand(['--sql', sql, '--input', `tolls=${inputPath}`, '--stream', 'result', ...extra], c.io)).toBe(0);
      return c.out.join('').trim().split('\n')[0];
    };
    expect(await run()).toBe('{"u":1772438400}');
    expect(await run('--dialect', 'kinesis')).toBe('{"u":1772438400000}');
    const bad = io();
    expect(await runQueryCommand(['--sql', sql, '--dialect', 'oracle'], bad.io)).toBe(2);
    expect(bad.err.join('')).toContain('--dialect takes flink or kinesis');
  });
});
