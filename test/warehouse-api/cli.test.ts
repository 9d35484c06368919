/**
 * The warehouse commands against a spawned `tollstream up`: report (and --list), sql, reference load,
 * with their output formats and the CLI's error convention.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startUp, tempDir, type UpProcess } from '../cli/helpers.ts';
import { distinct, send, T0, traffic, waitForRows } from './helpers.ts';

describe('tollstream report, sql and reference load', () => {
  const records = traffic(600, 21);
  const txs = distinct(records);
  let dir: string;
  let up: UpProcess;
  const client = () => ['--endpoint', up.url];

  beforeAll(async () => {
    dir = tempDir('warehouse');
    up = await startUp(['--data-dir', path.join(dir, 'data')]);
    await send(up.url, records);
    await waitForRows(up.url, txs.length);
  });
  afterAll(async () => {
    await up?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists the reports', async () => {
    const res = await runCli(['report', '--list', ...client()]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^NAME\s+PARAMETERS\s+DESCRIPTION\n/);
    expect(res.stdout).toContain('top_customers');
    expect(res.stdout).toContain('from, to, plaza, class, limit');
  });

  it('runs a report as a table with a freshness line, and as JSON whose numbers match the sent records', async () => {
    const range = ['--from', new Date(T0 - 7200_000).toISOString(), '--to', new Date(T0 + 86400_000).toISOString()];
    const table = await runCli(['report', 'revenue_by_vehicle_class_day', ...range, '--class', '3', ...client()]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^vehicle_class\s+day\s+currency\s+trips\s+revenue_cents$/);
    expect(table.stdout).toMatch(/\(\d+ rows?; data fresh to [\d.]+ s ago\)\n$/);

    const json = await runCli(['report', 'top_customers', ...range, '--limit', '3', '--format', 'json', ...client()]);
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout) as { report: string; freshnessSeconds: number; rows: Array<{ customer_id: string; trips: number; spend_cents: number }> };
    expect(answer.report).toBe('top_customers');
    expect(answer.freshnessSeconds).toBeGreaterThanOrEqual(0);
    const spend = new Map<string, { trips: number; cents: number }>();
    for (const t of txs) {
      const s = spend.get(t.customer_id) ?? { trips: 0, cents: 0 };
      spend.set(t.customer_id, { trips: s.trips + 1, cents: s.cents + t.amount_cents });
    }
    const want = [...spend.entries()].sort(([a, x], [b, y]) => y.cents - x.cents || (a < b ? -1 : 1)).slice(0, 3);
    expect(answer.rows.map((r) => [r.customer_id, r.trips, r.spend_cents])).toEqual(want.map(([id, s]) => [id, s.trips, s.cents]));
  });

  it('runs read-only SQL as CSV, with parameters, and refuses a write', async () => {
    const res = await runCli(['sql', 'SELECT count(*) AS trips FROM toll_transactions WHERE vehicle_class = $c', '--params', '{"c":2}', '--format', 'csv', ...client()]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`trips\r\n${txs.filter((t) => t.vehicle_class === 2).length}\r\n`);
    const del = await runCli(['sql', 'DELETE FROM toll_transactions', ...client()]);
    expect(del.code).toBe(1);
    expect(del.stderr).toMatch(/^error: .*read-only.*\(WAREHOUSE_READ_ONLY\)\n$/);
    // Streamed from the server: past the JSON row cap, every row arrives.
    const many = await runCli(['sql', 'SELECT i FROM range(150000) t(i) ORDER BY i', '--format', 'ndjson', ...client()]);
    expect(many.code).toBe(0);
    const lines = many.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(150000);
    expect(JSON.parse(lines[149999]!)).toEqual({ i: 149999 });
    const capped = await runCli(['sql', 'SELECT i FROM range(150000) t(i)', '--format', 'json', ...client()]);
    expect(capped.code).toBe(1);
    expect(capped.stderr).toContain('WAREHOUSE_RESULT_TOO_LARGE');
    const stdin = await runCli(['sql', '-', ...client()], { input: 'SELECT 40 + 2 AS answer' });
    expect(stdin.stdout).toContain('answer');
    expect(stdin.stdout).toContain('42');
  });

  it('loads station reference data from a file, and names a bad row', async () => {
    const good = path.join(dir, 'stations.csv');
    fs.writeFileSync(good, 'plaza_id,day_of_week,slot,expected_count,alert_threshold\nP01,4,12,100,50\nP02,4,12,90,45\n');
    const res = await runCli(['reference', 'load', good, ...client()]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`loaded 2 station reference rows from ${good}\n`);
    const check = await runCli(['sql', 'SELECT plaza_id FROM station_reference ORDER BY plaza_id', '--format', 'json', ...client()]);
    expect((JSON.parse(check.stdout) as { rows: unknown[] }).rows).toEqual([{ plaza_id: 'P01' }, { plaza_id: 'P02' }]);

    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify([{ plaza_id: 'P01', day_of_week: 4, slot: 48, expected_count: 1, alert_threshold: 1 }]));
    const refused = await runCli(['reference', 'load', bad, ...client()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/row 1: field 'slot' must be from 0 to 47, got 48 \(INVALID_ARGUMENT\)/);
  });

  it('explains usage mistakes with exit code 2', async () => {
    const noName = await runCli(['report', ...client()]);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('tollstream report --list');
    const format = await runCli(['sql', 'SELECT 1', '--format', 'xml', ...client()]);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format must be table, csv, json or ndjson');
    const help = await runCli(['reference', 'load', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: tollstream reference load FILE');
    const unknownReport = await runCli(['report', 'nope', ...client()]);
    expect(unknownReport.code).toBe(1);
    expect(unknownReport.stderr).toMatch(/no report named 'nope'.*\(NOT_FOUND\)/);
  });
});
