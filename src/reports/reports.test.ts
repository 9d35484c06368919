import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import type { TollTransaction } from '../simulator/index.ts';
import { openDuckDBWarehouse, type Row, type Warehouse } from '../warehouse/index.ts';
import { openTollsWarehouse, type TollsWarehouse } from '../../test/support/generated-tolls.ts';
import { formatCsv, formatJson, formatTable, listReports, rowObjects, loadReference, referenceRows, reportCatalog, runReport, type ReferenceTable, type ReportResult } from './index.ts';

const T0 = Date.parse('2026-11-26T00:00:00.000Z'); // a Thursday
const HOUR = 3600_000;
const OUTAGE = { plazaId: 'P03', from: T0 + 8 * HOUR, to: T0 + 9 * HOUR, factor: 0 };

describe('reports on generated traffic', () => {
  let tolls: TollsWarehouse;
  let warehouse: Warehouse;
  let txs: readonly TollTransaction[];
  const clock = T0 + 31 * HOUR;

  beforeAll(async () => {
    tolls = await openTollsWarehouse({ traffic: { seed: 3, startTime: T0, customers: 300, plazas: 6, eventsPerSecond: 0.2, drops: [OUTAGE] }, until: T0 + 30 * HOUR, now: clock });
    ({ warehouse, transactions: txs } = tolls);
  });
  afterAll(() => tolls?.close());

  const inRange = (t: TollTransaction, from: number, to: number) => Date.parse(t.event_time) >= from && Date.parse(t.event_time) < to;

  function group<K extends string>(list: readonly TollTransaction[], key: (t: TollTransaction) => K): Map<K, { trips: number; cents: number }> {
    const out = new Map<K, { trips: number; cents: number }>();
    for (const t of list) {
      const g = out.get(key(t)) ?? { trips: 0, cents: 0 };
      g.trips++;
      g.cents += t.amount_cents;
      out.set(key(t), g);
    }
    return out;
  }

  it('lists the reports with their parameters', () => {
    expect(listReports().map((r) => r.name)).toEqual(['revenue_by_plaza_hour', 'revenue_by_vehicle_class_day', 'top_customers']);
    expect(listReports().find((r) => r.name === 'top_customers')?.parameters).toContain('limit');
    // The defaults a client shows are the ones the server applies to a parameter left out.
    expect(listReports().every((r) => r.defaults.rangeHours === 24 && r.defaults.limit === 10)).toBe(true);
  });

  it('charts columns each report returns: money for revenue and spend, never a threshold or id as a value', async () => {
    for (const info of listReports()) {
      const result = await runReport(warehouse, info.name, { from: new Date(T0).toISOString(), to: new Date(T0 + 30 * HOUR).toISOString() });
      const names = result.columns.map((c) => c.name);
      const chart = info.chart!;
      for (const column of [chart.x, ...chart.values, ...(chart.thresholds ?? []), ...(chart.seriesBy ? [chart.seriesBy] : [])]) expect(names, info.name).toContain(column);
      expect(chart.unit, info.name).toBe('money');
      expect(chart.values.filter((v) => /_id$|threshold/.test(v)), info.name).toEqual([]);
    }
  });

  it('serves an app\'s reports after the platform\'s, and refuses a second report of the same name', async () => {
    const extra = { name: 'plazas_seen', description: 'Plazas with traffic.', parameters: ['from', 'to'] as const, sql: () => 'SELECT DISTINCT plaza_id FROM toll_transactions WHERE event_time >= $from AND event_time < $to ORDER BY 1' };
    const catalog = reportCatalog([extra]);
    expect(listReports(catalog).map((r) => r.name)).toEqual([...listReports().map((r) => r.name), 'plazas_seen']);
    await expect(runReport(warehouse, 'plazas_seen')).rejects.toSatisfy((e) => isTollstreamError(e, 'NOT_FOUND'));
    expect((await runReport(warehouse, 'plazas_seen', { from: '2026-11-26', to: '2026-11-28' }, Date.now, catalog)).columns.map((c) => c.name)).toEqual(['plaza_id']);
    expect(() => reportCatalog([{ ...extra, name: 'top_customers' }])).toThrow(/two reports are named 'top_customers'/);
    // A chart that names no value column, or a unit the console cannot label, is refused when the catalog is read.
    expect(() => reportCatalog([{ ...extra, chart: { x: 'plaza_id', values: [], unit: 'count' } }])).toThrow(/the chart of report 'plazas_seen' must name one or more 'values' columns/);
    expect(() => reportCatalog([{ ...extra, chart: { x: 'plaza_id', values: ['n'], unit: 'euros' as 'money' } }])).toThrow(/must have 'unit' 'money' or 'count'/);
    expect(reportCatalog([{ ...extra, chart: { x: 'plaza_id', values: ['n'], unit: 'count', seriesBy: 'plaza_id', top: 3 } }])).toHaveLength(4);
  });

  it('revenue per plaza per hour matches the generated transactions', async () => {
    const from = T0 + 2 * HOUR;
    const to = T0 + 10 * HOUR;
    const result = await runReport(warehouse, 'revenue_by_plaza_hour', { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    const expected = group(txs.filter((t) => inRange(t, from, to)), (t) => `${t.plaza_id}|${new Date(Math.floor(Date.parse(t.event_time) / HOUR) * HOUR).toISOString()}|${t.currency}`);
    const want = [...expected.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => {
        const [plaza_id, hour, currency] = k.split('|');
        return { plaza_id, hour, currency, trips: v.trips, revenue_cents: v.cents };
      });
    expect(rowObjects(result)).toEqual(want);
    expect(result.freshnessSeconds).toBe(3600);
    // The planted outage: no row for P03 between 08:00 and 09:00.
    expect(rowObjects(result).some((r) => r.plaza_id === 'P03' && r.hour === new Date(T0 + 8 * HOUR).toISOString())).toBe(false);
  });

  it('revenue and trips per vehicle class per day, filtered by plaza and class, match', async () => {
    const result = await runReport(warehouse, 'revenue_by_vehicle_class_day', { from: '2026-11-26', to: '2026-11-28', plaza: 'P02', vehicleClass: '2' });
    const expected = group(txs.filter((t) => t.plaza_id === 'P02' && t.vehicle_class === 2), (t) => t.event_time.slice(0, 10));
    expect(rowObjects(result)).toEqual(
      [...expected.entries()].sort().map(([day, v]) => ({ vehicle_class: 2, day, currency: 'USD', trips: v.trips, revenue_cents: v.cents })),
    );
    expect(result.rows.length).toBe(2);
  });

  it('top customers by spend match, with the limit', async () => {
    const from = T0;
    const to = T0 + 30 * HOUR;
    const result = await runReport(warehouse, 'top_customers', { from: new Date(from), to: new Date(to), limit: 5 });
    const spend = group(txs, (t) => t.customer_id);
    const want = [...spend.entries()]
      .sort(([a, x], [b, y]) => y.cents - x.cents || (a < b ? -1 : 1))
      .slice(0, 5)
      .map(([customer_id, v]) => ({ customer_id, currency: 'USD', trips: v.trips, spend_cents: v.cents }));
    expect(rowObjects(result)).toEqual(want);
  });

  it('refuses unknown reports, unknown parameters and bad values, and treats values as data', async () => {
    await expect(runReport(warehouse, 'nope')).rejects.toSatisfy((e) => isTollstreamError(e, 'NOT_FOUND'));
    await expect(runReport(warehouse, 'revenue_by_plaza_hour', { limit: 2 })).rejects.toThrow(/takes no parameter 'limit'/);
    await expect(runReport(warehouse, 'top_customers', { vehicleClass: 'seven' })).rejects.toThrow(/'vehicleClass' must be an integer from 1 to 5/);
    await expect(runReport(warehouse, 'top_customers', { from: 'yesterday' })).rejects.toThrow(/'from' must be an ISO 8601/);
    await expect(runReport(warehouse, 'top_customers', { from: '2026-11-27', to: '2026-11-26' })).rejects.toThrow(/must be before/);
    const sneaky = await runReport(warehouse, 'revenue_by_plaza_hour', { from: '2026-11-26', to: '2026-11-28', plaza: "P01' OR '1'='1" });
    expect(sneaky.rows).toEqual([]);
  });

  it('formats results as a table, CSV and JSON', () => {
    const result: ReportResult = {
      report: 'demo',
      columns: [
        { name: 'plaza_id', type: 'VARCHAR' },
        { name: 'revenue_cents', type: 'BIGINT' },
      ],
      rows: [
        ['P01', 1250],
        ['Main, "North"', 75],
      ],
      freshnessSeconds: 2.5,
    };
    expect(formatTable(result)).toBe(['plaza_id       revenue_cents', '-------------  -------------', 'P01                     1250', 'Main, "North"             75', '(2 rows; data fresh to 2.5 s ago)', ''].join('\n'));
    expect(formatCsv(result)).toBe('plaza_id,revenue_cents\r\nP01,1250\r\n"Main, ""North""",75\r\n');
    expect(JSON.parse(formatJson(result))).toEqual({ report: 'demo', freshnessSeconds: 2.5, columns: result.columns, rows: [{ plaza_id: 'P01', revenue_cents: 1250 }, { plaza_id: 'Main, "North"', revenue_cents: 75 }] });
  });
});

describe('reference data loading', () => {
  /** Reference data as an app declares it: a keyed warehouse table, replaced as a whole. */
  const PLAZAS: ReferenceTable = {
    name: 'plazas',
    table: {
      name: 'plaza_lanes',
      description: 'Lanes per plaza and direction.',
      columns: [
        { name: 'plaza_id', type: 'varchar', description: 'Toll plaza.' },
        { name: 'direction', type: 'smallint', min: 0, max: 1, description: '0 north, 1 south.' },
        { name: 'lanes', type: 'integer', min: 1, description: 'Lanes open.' },
      ],
      primaryKey: ['plaza_id', 'direction'],
    },
  };
  let dir: string;
  let warehouse: Warehouse;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-reference-'));
    warehouse = await openDuckDBWarehouse({ path: ':memory:', threads: 1 });
    await warehouse.ensureSchema([PLAZAS.table]);
  });
  afterAll(async () => {
    await warehouse.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('loads a CSV file and replaces the previous rows', async () => {
    const file = path.join(dir, 'plazas.csv');
    await fs.writeFile(file, 'plaza_id,direction,lanes\r\nP01,0,4\r\nP01,1,3\r\n');
    expect(await loadReference(warehouse, PLAZAS, { path: file })).toEqual({ rows: 2 });
    await loadReference(warehouse, PLAZAS, { csv: 'plaza_id,direction,lanes\nP02,0,5\n' });
    expect((await warehouse.query('SELECT plaza_id, direction, lanes FROM plaza_lanes')).rows).toEqual([['P02', 0, 5]]);
    expect(await referenceRows(warehouse, PLAZAS)).toEqual([{ plaza_id: 'P02', direction: 0, lanes: 5 }]);
  });

  it('refuses bad rows and duplicate keys, naming the reference and the row, and keeps the previous rows', async () => {
    await loadReference(warehouse, PLAZAS, { csv: 'plaza_id,direction,lanes\nP02,0,5\n' });
    await expect(loadReference(warehouse, PLAZAS, { csv: 'plaza_id,direction,lanes\nP01,2,1\n' })).rejects.toThrow(/reference 'plazas' row 1: field 'direction' must be from 0 to 1/);
    await expect(loadReference(warehouse, PLAZAS, { json: '[{"plaza_id":"P01","direction":1,"lanes":1},{"plaza_id":"P01","direction":1,"lanes":3}]' })).rejects.toThrow(/reference 'plazas' row 2: plaza_id P01, direction 1 appears twice/);
    await expect(loadReference(warehouse, PLAZAS, { path: path.join(dir, 'plazas.txt') })).rejects.toSatisfy((e) => isTollstreamError(e, 'INVALID_ARGUMENT'));
    expect((await warehouse.query('SELECT count(*) FROM plaza_lanes')).rows).toEqual([[1]]);
  });
});
