/**
 * The station alerts' report over their reference table, on generated traffic with an outage: the platform's
 * warehouse and report runner, the app's table and report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReference, reportCatalog, rowObjects, runReport, type ReferenceTable } from '../../reports/index.ts';
import type { TollTransaction } from '../../simulator/index.ts';
import type { Warehouse } from '../../warehouse/index.ts';
import { openTollsWarehouse, type TollsWarehouse } from '../../../test/support/generated-tolls.ts';
import { STATION_REFERENCE, STATION_REFERENCE_NAME } from './reference-table.ts';
import { STATION_REPORTS } from './reports.ts';

const T0 = Date.parse('2026-11-26T00:00:00.000Z'); // a Thursday
const HOUR = 3600_000;
const OUTAGE = { plazaId: 'P03', from: T0 + 8 * HOUR, to: T0 + 9 * HOUR, factor: 0 };
const CATALOG = reportCatalog(STATION_REPORTS);
// Loaded through the platform's loader alone: nothing follows it into a stream here.
const REFERENCE: ReferenceTable = { name: STATION_REFERENCE_NAME, table: STATION_REFERENCE };

describe('the station traffic report', () => {
  let tolls: TollsWarehouse;
  let warehouse: Warehouse;
  let txs: readonly TollTransaction[];

  beforeAll(async () => {
    tolls = await openTollsWarehouse({
      traffic: { seed: 3, startTime: T0, customers: 300, plazas: 6, eventsPerSecond: 0.2, drops: [OUTAGE] },
      until: T0 + 30 * HOUR,
      now: T0 + 31 * HOUR,
      tables: [STATION_REFERENCE],
    });
    ({ warehouse, transactions: txs } = tolls);
  });
  afterAll(() => tolls?.close());

  const inRange = (t: TollTransaction, from: number, to: number) => Date.parse(t.event_time) >= from && Date.parse(t.event_time) < to;

  it('counts vehicles per station per 30 minutes against the reference, flagging the outage', async () => {
    const reference = [];
    for (let slot = 0; slot < 48; slot++) reference.push({ plaza_id: 'P03', day_of_week: 4, slot, expected_count: 10 + slot, alert_threshold: 3 });
    await loadReference(warehouse, REFERENCE, { json: reference });
    const from = T0 + 6 * HOUR;
    const to = T0 + 12 * HOUR;
    const result = await runReport(warehouse, 'station_traffic_vs_expected', { from: new Date(from), to: new Date(to), plaza: 'P03' }, Date.now, CATALOG);
    const rows = rowObjects(result);
    expect(rows).toHaveLength(12);
    for (const [i, row] of rows.entries()) {
      const start = from + i * 30 * 60_000;
      const vehicles = txs.filter((t) => t.plaza_id === 'P03' && inRange(t, start, start + 30 * 60_000)).length;
      const slot = 12 + i;
      expect(row).toEqual({
        plaza_id: 'P03',
        period_start: new Date(start).toISOString(),
        day_of_week: 4,
        slot,
        vehicles,
        expected_count: 10 + slot,
        alert_threshold: 3,
        below_threshold: vehicles < 3,
      });
    }
    const outage = rows.filter((r) => Date.parse(String(r.period_start)) >= OUTAGE.from && Date.parse(String(r.period_start)) < OUTAGE.to);
    expect(outage.map((r) => [r.vehicles, r.below_threshold])).toEqual([
      [0, true],
      [0, true],
    ]);
    // The console charts what the report declares: vehicles against expected, the threshold as a line.
    const chart = STATION_REPORTS[0]!.chart!;
    const names = result.columns.map((c) => c.name);
    for (const column of [chart.x, ...chart.values, ...(chart.thresholds ?? [])]) expect(names).toContain(column);
    expect(chart).toMatchObject({ values: ['vehicles', 'expected_count'], thresholds: ['alert_threshold'], unit: 'count' });
  });

  it('takes no vehicle class, and refuses a slot out of the day or a key given twice', async () => {
    await expect(runReport(warehouse, 'station_traffic_vs_expected', { vehicleClass: 2 }, Date.now, CATALOG)).rejects.toThrow(/takes no parameter 'vehicleClass'/);
    const header = 'plaza_id,day_of_week,slot,expected_count,alert_threshold\n';
    await expect(loadReference(warehouse, REFERENCE, { csv: `${header}P01,1,48,1,1\n` })).rejects.toThrow(/row 1: field 'slot' must be from 0 to 47/);
    await expect(loadReference(warehouse, REFERENCE, { csv: `${header}P01,1,2,1,1\nP01,1,2,3,1\n` })).rejects.toThrow(/row 2: .* appears twice/);
  });
});
