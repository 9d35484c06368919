/**
 * The warehouse through the running server: records sent to the native API reach the warehouse exactly once,
 * reports and SQL answer over HTTP with their freshness, /metrics shows delivery and freshness, and a restart
 * neither loses nor duplicates rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import { hashApiKey } from '../../src/gateway/auth/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { distinct, query, send, serverConfig, start, T0, tempDataDir, traffic, waitForRows, type QueryAnswer } from './helpers.ts';

const HOUR = 3600_000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function dataDir(label: string): string {
  const d = tempDataDir(label);
  dirs.push(d);
  return d;
}

describe('warehouse API of a running server', () => {
  const records = traffic(3000, 11);
  const txs = distinct(records);
  let dir: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = dataDir('main');
    server = await start(serverConfig(dir));
    await send(server.url, records);
    await waitForRows(server.url, txs.length);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('holds each sent transaction once, producer retries dropped', async () => {
    expect(records.length).toBeGreaterThan(txs.length); // the traffic did contain retries
    const { body } = await query(server.url, 'SELECT count(*), count(DISTINCT transaction_id), sum(amount_cents) FROM toll_transactions');
    expect((body as QueryAnswer).rows).toEqual([[txs.length, txs.length, txs.reduce((s, t) => s + t.amount_cents, 0)]]);
  });

  it('answers a report whose numbers equal those computed from the sent records, with its freshness', async () => {
    const from = new Date(T0 - 2 * HOUR).toISOString();
    const to = new Date(T0 + 24 * HOUR).toISOString();
    const res = await fetch(`${server.url}/v1/reports/revenue_by_plaza_hour?from=${from}&to=${to}&plaza=P02`);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as QueryAnswer & { report: string };
    expect(answer.report).toBe('revenue_by_plaza_hour');
    expect(answer.columns.map((c) => c.name)).toEqual(['plaza_id', 'hour', 'currency', 'trips', 'revenue_cents']);
    const expected = new Map<string, [number, number]>();
    for (const t of txs.filter((x) => x.plaza_id === 'P02')) {
      const hour = new Date(Math.floor(Date.parse(t.event_time) / HOUR) * HOUR).toISOString();
      const [trips, cents] = expected.get(hour) ?? [0, 0];
      expected.set(hour, [trips + 1, cents + t.amount_cents]);
    }
    const want = [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([hour, [trips, cents]]) => ['P02', hour, 'USD', trips, cents]);
    expect(want.length).toBeGreaterThan(0);
    expect(answer.rows).toEqual(want);
    expect(typeof answer.freshnessSeconds).toBe('number');
    expect(answer.freshnessSeconds!).toBeGreaterThanOrEqual(0);
    expect(answer.freshnessSeconds!).toBeLessThan(120);
  });

  it('filters by vehicle class with `class` and answers CSV with the freshness in a header', async () => {
    const from = new Date(T0 - 2 * HOUR).toISOString();
    const to = new Date(T0 + 24 * HOUR).toISOString();
    const res = await fetch(`${server.url}/v1/reports/revenue_by_vehicle_class_day?from=${from}&to=${to}&class=2&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(Number(res.headers.get('x-tollstream-freshness-seconds'))).toBeGreaterThanOrEqual(0);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe('vehicle_class,day,currency,trips,revenue_cents');
    const cars = txs.filter((t) => t.vehicle_class === 2);
    const trips = lines.slice(1).reduce((s, l) => s + Number(l.split(',')[3]), 0);
    const cents = lines.slice(1).reduce((s, l) => s + Number(l.split(',')[4]), 0);
    expect([trips, cents]).toEqual([cars.length, cars.reduce((s, t) => s + t.amount_cents, 0)]);
  });

  it('lists the reports with their HTTP parameters, and refuses unknown reports and parameters', async () => {
    const list = (await (await fetch(`${server.url}/v1/reports`)).json()) as { reports: Array<{ name: string; description: string; parameters: string[] }> };
    expect(list.reports.map((r) => r.name)).toEqual(['revenue_by_plaza_hour', 'revenue_by_vehicle_class_day', 'top_customers', 'threshold_breaches_per_day', 'station_traffic_vs_expected']);
    expect(list.reports.find((r) => r.name === 'top_customers')!.parameters).toEqual(['from', 'to', 'plaza', 'class', 'limit']);
    const missing = await fetch(`${server.url}/v1/reports/nope`);
    expect(missing.status).toBe(404);
    const bad = await fetch(`${server.url}/v1/reports/station_traffic_vs_expected?class=2`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("takes no parameter 'class'");
  });

  it('answers read-only SQL with bound parameters and refuses writes with WAREHOUSE_READ_ONLY', async () => {
    const ok = await query(server.url, 'SELECT count(*) AS trips, sum(amount_cents) AS cents FROM toll_transactions WHERE plaza_id = $plaza', { plaza: 'P01' });
    expect(ok.status).toBe(200);
    const p01 = txs.filter((t) => t.plaza_id === 'P01');
    expect((ok.body as QueryAnswer).rows).toEqual([[p01.length, p01.reduce((s, t) => s + t.amount_cents, 0)]]);
    expect((ok.body as QueryAnswer).freshnessSeconds).toBeGreaterThanOrEqual(0);

    const del = await query(server.url, 'DELETE FROM toll_transactions');
    expect(del.status).toBe(400);
    expect((del.body as { error: { code: string } }).error.code).toBe('WAREHOUSE_READ_ONLY');
    const bad = await query(server.url, 'SELECT nope FROM toll_transactions');
    expect(bad.status).toBe(400);
    const badBody = await fetch(`${server.url}/v1/warehouse/query`, { method: 'POST', body: '{"sql":"SELECT 1","limit":3}' });
    expect(badBody.status).toBe(400);
    const { body } = await query(server.url, 'SELECT count(*) FROM toll_transactions');
    expect((body as QueryAnswer).rows[0]![0]).toBe(txs.length);
  });

  it('replaces the station reference from CSV and JSON bodies, which the station report uses', async () => {
    const csv = 'plaza_id,day_of_week,slot,expected_count,alert_threshold\nP01,4,12,500,400\nP01,4,13,500,400\n';
    const put = await fetch(`${server.url}/v1/reference/stations`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: csv });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ rows: 2 });
    const from = new Date(T0).toISOString();
    const to = new Date(T0 + HOUR).toISOString();
    const report = (await (await fetch(`${server.url}/v1/reports/station_traffic_vs_expected?from=${from}&to=${to}&plaza=P01`)).json()) as QueryAnswer;
    const rows = report.rows.map((r) => Object.fromEntries(report.columns.map((c, i) => [c.name, r[i]])));
    const vehicles = (start: number) => txs.filter((t) => t.plaza_id === 'P01' && Date.parse(t.event_time) >= start && Date.parse(t.event_time) < start + HOUR / 2).length;
    const [first, second] = [vehicles(T0), vehicles(T0 + HOUR / 2)];
    expect(rows.map((r) => [r.slot, r.vehicles, r.expected_count, r.below_threshold])).toEqual([
      [12, first, 500, first < 400],
      [13, second, 500, second < 400],
    ]);
    const json = JSON.stringify([{ plaza_id: 'P09', day_of_week: 0, slot: 0, expected_count: 1, alert_threshold: 1 }]);
    const replaced = await fetch(`${server.url}/v1/reference/stations`, { method: 'PUT', body: json });
    expect(await replaced.json()).toEqual({ rows: 1 });
    const refused = await fetch(`${server.url}/v1/reference/stations`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'plaza_id,day_of_week,slot,expected_count,alert_threshold\nP01,9,0,1,1\n' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('row 1');
    expect((await query(server.url, 'SELECT plaza_id FROM station_reference')).body).toMatchObject({ rows: [['P09']] });
  });

  it('exports the warehouse freshness and delivered rows on /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const freshness = /^tollstream_warehouse_freshness_seconds ([0-9.e+-]+)$/m.exec(text);
    expect(freshness).not.toBeNull();
    expect(Number(freshness![1])).toBeGreaterThanOrEqual(0);
    expect(text).toContain(`tollstream_delivery_rows_total{delivery="warehouse"} ${txs.length}\n`);
    expect(text).toMatch(/^tollstream_delivery_batches_total\{delivery="warehouse"\} [1-9]\d*$/m);
    expect(text).toContain('tollstream_delivery_errors_total{delivery="warehouse",type="format-conversion-failed"} 0\n');
    expect(text).toContain('tollstream_delivery_state{delivery="warehouse",state="running"} 1\n');
  });

  it('exports the process memory on /metrics, the JavaScript heap apart from the rest', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1]);
    const rss = gauge('process_resident_memory_bytes');
    const heapUsed = gauge('nodejs_heap_size_used_bytes');
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(heapUsed).toBeGreaterThan(0);
    expect(heapUsed).toBeLessThanOrEqual(gauge('nodejs_heap_size_total_bytes'));
    expect(heapUsed).toBeLessThan(rss);
    expect(gauge('nodejs_external_memory_bytes')).toBeGreaterThanOrEqual(gauge('nodejs_array_buffers_bytes'));
  });

  it('neither duplicates nor loses rows across a restart', async () => {
    await server.close();
    server = await start(serverConfig(dir));
    const more = traffic(400, 12, T0 + 2 * HOUR);
    await send(server.url, more);
    const all = txs.length + distinct(more).length;
    await waitForRows(server.url, all);
    // Give a wrongly restarted delivery the time to load a second copy, then look again.
    await new Promise((r) => setTimeout(r, 1500));
    const { body } = await query(server.url, 'SELECT count(*), count(DISTINCT transaction_id) FROM toll_transactions');
    expect((body as QueryAnswer).rows).toEqual([[all, all]]);
  });
});

describe('warehouse API protection and switches', () => {
  it('needs the native API key on the warehouse routes when API keys are configured', async () => {
    const server = await start(serverConfig(dataDir('keys'), { auth: { accessKeys: [], apiKeys: [hashApiKey('analyst-key')] } }));
    try {
      expect((await query(server.url, 'SELECT 1')).status).toBe(401);
      expect((await fetch(`${server.url}/v1/reports`)).status).toBe(401);
      expect((await fetch(`${server.url}/v1/reference/stations`, { method: 'PUT', body: '[]' })).status).toBe(401);
      const ok = await query(server.url, 'SELECT 1 AS one', undefined, { authorization: 'Bearer analyst-key' });
      expect(ok).toEqual({ status: 200, body: { columns: [{ name: 'one', type: 'INTEGER' }], rows: [[1]], freshnessSeconds: null } });
    } finally {
      await server.close();
    }
  });

  it('also delivers into the Parquet lake when it is enabled, and exports both deliveries', async () => {
    const dir = dataDir('lake');
    // The lake buffers on its own (lake.maxWaitSeconds, 300 s by default); a second here.
    const server = await start(serverConfig(dir, { lake: { ...DEFAULT_CONFIG.lake, enabled: true, maxWaitSeconds: 1 } }));
    try {
      const records = traffic(300, 31);
      const txs = distinct(records);
      await send(server.url, records);
      await waitForRows(server.url, txs.length);
      const deadline = Date.now() + 20_000;
      let text = '';
      while (Date.now() < deadline && !text.includes(`tollstream_delivery_rows_total{delivery="lake"} ${txs.length}\n`)) {
        await new Promise((r) => setTimeout(r, 100));
        text = await (await fetch(`${server.url}/metrics`)).text();
      }
      expect(text).toContain(`tollstream_delivery_rows_total{delivery="lake"} ${txs.length}\n`);
      expect(text).toContain(`tollstream_delivery_rows_total{delivery="warehouse"} ${txs.length}\n`);
      const files = fs.readdirSync(path.join(dir, 'lake', 'toll_transactions'), { recursive: true }).map(String);
      expect(files.some((f) => f.startsWith('plaza_id=') && f.endsWith('.parquet'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('answers 503 WAREHOUSE_UNAVAILABLE when the warehouse is switched off', async () => {
    const server = await start(serverConfig(dataDir('off'), { warehouse: { enabled: false } }));
    try {
      const res = await query(server.url, 'SELECT 1');
      expect(res.status).toBe(503);
      expect((res.body as { error: { code: string } }).error.code).toBe('WAREHOUSE_UNAVAILABLE');
      expect(server.deliveries).toEqual([]);
      expect(await (await fetch(`${server.url}/metrics`)).text()).not.toContain('tollstream_warehouse_freshness_seconds ');
    } finally {
      await server.close();
    }
  });
});
