import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, tempDir } from './helpers.ts';

const CASE = path.join(REPO_ROOT, 'test/sql/cases/flink-customer-spend-tumble');

describe('tollstream query', () => {
  it('runs SQL over NDJSON files and prints the output rows with their stream', async () => {
    const result = await runCli(['query', '--sql', path.join(CASE, 'query.sql'), '--input', `tolls=${path.join(CASE, 'tolls.ndjson')}`]);
    expect(result.code).toBe(0);
    const rows = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const expected = fs.readFileSync(path.join(CASE, 'expected.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const canonical = (r: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => k !== '_stream').sort()));
    expect(rows.every((r) => r._stream === 'customer_spend')).toBe(true);
    expect(rows.map(canonical).sort()).toEqual(expected.map(canonical).sort());
  });

  it('prints one stream\'s rows as they are with --stream', async () => {
    const result = await runCli(['query', '--sql', path.join(CASE, 'query.sql'), '--input', `tolls=${path.join(CASE, 'tolls.ndjson')}`, '--stream', 'customer_spend']);
    expect(result.code).toBe(0);
    const rows = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const expected = fs.readFileSync(path.join(CASE, 'expected.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.every((r) => !('_stream' in r))).toBe(true);
    const canonical = (r: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => k !== '_stream').sort()));
    expect(rows.map(canonical).sort()).toEqual(expected.map(canonical).sort());
  });

  it('names the line and column of a SQL error', async () => {
    const file = path.join(tempDir('query'), 'bad.sql');
    fs.writeFileSync(file, 'SELECT customer_id,\n  SUM(amount_cents FROM tolls;\n');
    const result = await runCli(['query', '--sql', file, '--input', `tolls=${path.join(CASE, 'tolls.ndjson')}`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/line 2/);
  });
});
