/**
 * Every report gives the same answer on PostgreSQL as on DuckDB for the same generated data, and the threshold
 * breaches report counts what was loaded into threshold_breaches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPEND_ALERT_REPORTS, THRESHOLD_BREACHES } from '../../src/apps/abc-tolls/index.ts';
import { STATION_REFERENCE, STATION_REFERENCE_NAME, STATION_REPORTS } from '../../src/apps/station-alerts/index.ts';
import { listReports, loadReference, reportCatalog, rowObjects, runReport, type ReportParams, type ReportResult } from '../../src/reports/index.ts';
import { openDuckDBWarehouse, type Row, type Warehouse } from '../../src/warehouse/index.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';
import { generatedTolls, loadTolls } from '../support/generated-tolls.ts';
import { postgresSchema, type PostgresSchema } from './server.ts';

const T0 = Date.parse('2026-11-26T00:00:00.000Z'); // a Thursday
const HOUR = 3600_000;
const CLOCK = T0 + 31 * HOUR;
/** The reports a server with the shipped apps serves: the platform's and the ABC Tolls app's. */
const REPORTS = reportCatalog([...SPEND_ALERT_REPORTS, ...STATION_REPORTS]);

function breachRows(): Row[] {
  const causes = ['transaction', 'transaction', 'window', 'threshold_change'];
  const rows: Row[] = [];
  for (let i = 0; i < 12; i++) {
    const breachedAt = T0 + i * 5 * HOUR + 17 * 60_000; // spread over three UTC days
    rows.push({
      breach_id: `breach:C${i % 5}:2026-11:${5_000 + i}`,
      customer_id: `C${i % 5}`,
      month: '2026-11',
      threshold_cents: 5_000 + i,
      total_cents: 5_100 + i * 2,
      breached_at: breachedAt,
      cause: causes[i % causes.length]!,
      arrival_time: breachedAt + 200,
      shard_id: 's0',
      sequence_number: String(i).padStart(12, '0'),
    });
  }
  // The same notification appended twice (a retried append past the log's dedupe window): counted once.
  rows.push({ ...rows[3]!, sequence_number: String(12).padStart(12, '0') });
  return rows;
}

describe('reports on PostgreSQL and DuckDB', () => {
  let duck: Warehouse;
  let place: PostgresSchema;
  let postgres: Warehouse;

  beforeAll(async () => {
    duck = await openDuckDBWarehouse({ path: ':memory:', threads: 1, now: () => CLOCK });
    place = postgresSchema('reports');
    postgres = await place.open({ now: () => CLOCK });
    const tolls = generatedTolls({ seed: 11, startTime: T0, customers: 200, plazas: 5, eventsPerSecond: 0.15, drops: [{ plazaId: 'P02', from: T0 + 7 * HOUR, to: T0 + 8 * HOUR, factor: 0 }] }, T0 + 30 * HOUR, T0 + 30 * HOUR);
    const reference = [];
    for (const plaza_id of ['P01', 'P02', 'P09']) {
      for (let slot = 0; slot < 48; slot++) reference.push({ plaza_id, day_of_week: 4, slot, expected_count: 5 + slot, alert_threshold: 2 });
    }
    const breaches = breachRows();
    for (const w of [duck, postgres]) {
      await w.ensureSchema([TOLL_TRANSACTIONS, THRESHOLD_BREACHES, STATION_REFERENCE]);
      await loadTolls(w, tolls);
      await w.loadBatch({ table: 'threshold_breaches', rows: breaches, source: { stream: 'spend_alerts', positions: { s0: breaches[breaches.length - 1]!.sequence_number as string } } });
      await loadReference(w, { name: STATION_REFERENCE_NAME, table: STATION_REFERENCE }, { json: reference });
    }
  });
  afterAll(async () => {
    await duck?.close();
    await postgres?.close();
    await place?.cleanup();
  });

  const cases: Record<string, ReportParams[]> = {
    revenue_by_plaza_hour: [{ from: '2026-11-26', to: '2026-11-28' }, { from: new Date(T0 + 5 * HOUR), to: new Date(T0 + 9 * HOUR), plaza: 'P02', vehicleClass: 2 }],
    revenue_by_vehicle_class_day: [{ from: '2026-11-26', to: '2026-11-28' }, { from: '2026-11-26', to: '2026-11-27', plaza: 'P04' }],
    top_customers: [{ from: '2026-11-26', to: '2026-11-28', limit: 15 }, { from: '2026-11-26T03:00:00Z', to: '2026-11-26T20:00:00Z', vehicleClass: '1' }],
    station_traffic_vs_expected: [
      { from: new Date(T0 + 5 * HOUR), to: new Date(T0 + 10 * HOUR) },
      { from: new Date(T0 + 6 * HOUR + 10 * 60_000), to: new Date(T0 + 9 * HOUR), plaza: 'P02' },
      { from: new Date(T0 + 23 * HOUR), to: new Date(T0 + 26 * HOUR), plaza: 'P09' },
    ],
    threshold_breaches_per_day: [{ from: '2026-11-26', to: '2026-11-29' }, { from: '2026-11-26T12:00:00Z', to: '2026-11-27T12:00:00Z' }],
  };

  it('covers every report', () => {
    expect(Object.keys(cases).sort()).toEqual(listReports(REPORTS).map((r) => r.name).sort());
  });

  for (const [name, paramSets] of Object.entries(cases)) {
    it(`${name} gives the same columns and rows on both warehouses`, async () => {
      for (const params of paramSets) {
        const [a, b] = await Promise.all([runReport(duck, name, params, () => CLOCK, REPORTS), runReport(postgres, name, params, () => CLOCK, REPORTS)]);
        expect(b.columns.map((c) => c.name)).toEqual(a.columns.map((c) => c.name));
        expect(b.rows, JSON.stringify(params)).toEqual(a.rows);
        expect(a.rows.length, `${name} ${JSON.stringify(params)} has rows to compare`).toBeGreaterThan(0);
        expect(b.freshnessSeconds).toBe(a.freshnessSeconds);
      }
    });
  }

  it('counts threshold breaches per day and cause, a breach delivered twice once', async () => {
    for (const w of [duck, postgres]) {
      const result = await runReport(w, 'threshold_breaches_per_day', { from: '2026-11-26', to: '2026-11-29' }, Date.now, REPORTS);
      // Breach i happens at i*5h+17min: days 26 (i 0-4), 27 (i 5-9), 28 (i 10-11); causes cycle transaction, transaction, window, threshold_change.
      expect(rowObjects(result)).toEqual([
        { day: '2026-11-26', cause: 'threshold_change', breaches: 1, customers: 1, over_threshold_cents: 103 },
        { day: '2026-11-26', cause: 'transaction', breaches: 3, customers: 3, over_threshold_cents: 100 + 101 + 104 },
        { day: '2026-11-26', cause: 'window', breaches: 1, customers: 1, over_threshold_cents: 102 },
        { day: '2026-11-27', cause: 'threshold_change', breaches: 1, customers: 1, over_threshold_cents: 107 },
        { day: '2026-11-27', cause: 'transaction', breaches: 3, customers: 3, over_threshold_cents: 105 + 108 + 109 },
        { day: '2026-11-27', cause: 'window', breaches: 1, customers: 1, over_threshold_cents: 106 },
        { day: '2026-11-28', cause: 'window', breaches: 1, customers: 1, over_threshold_cents: 110 },
        { day: '2026-11-28', cause: 'threshold_change', breaches: 1, customers: 1, over_threshold_cents: 111 },
      ].sort((x, y) => (x.day + x.cause < y.day + y.cause ? -1 : 1)));
    }
  });
});
