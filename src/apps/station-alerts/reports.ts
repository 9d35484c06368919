/**
 * The station alerts' report over the warehouse: traffic per plaza and 30-minute period against the app's
 * reference table, served with the platform's reports whether or not the alerts run.
 */
import type { ReportDefinition } from '../../reports/index.ts';

export const STATION_REPORTS: readonly ReportDefinition[] = [
  {
    name: 'station_traffic_vs_expected',
    description:
      'Vehicles per plaza per 30-minute period against the expected count of station_reference (by UTC day of week and slot); ' +
      'periods below the alert threshold are flagged, including periods with no traffic at all.',
    parameters: ['from', 'to', 'plaza'],
    sql: (d) => {
      const from = d.timeBucket(30, d.timestampParam('from'));
      const to = d.timestampParam('to');
      return `
      WITH periods AS (
        SELECT period_start FROM ${d.periodSeries(30, from, to, 'period_start')} AS series
      ),
      counts AS (
        SELECT plaza_id, ${d.timeBucket(30, 'event_time')} AS period_start, count(*)::BIGINT AS vehicles
        FROM toll_transactions
        WHERE event_time >= ${from} AND event_time < $to
          AND ($plaza::VARCHAR IS NULL OR plaza_id = $plaza)
        GROUP BY 1, 2
      ),
      stations AS (
        SELECT plaza_id FROM station_reference WHERE $plaza::VARCHAR IS NULL OR plaza_id = $plaza
        UNION
        SELECT plaza_id FROM counts
      )
      SELECT s.plaza_id, p.period_start,
             ${d.dayOfWeek('p.period_start')}::SMALLINT AS day_of_week,
             ${d.slotOfDay(30, 'p.period_start')}::SMALLINT AS slot,
             coalesce(c.vehicles, 0)::BIGINT AS vehicles,
             r.expected_count, r.alert_threshold,
             coalesce(c.vehicles, 0) < r.alert_threshold AS below_threshold
      FROM stations s
      CROSS JOIN periods p
      LEFT JOIN counts c ON c.plaza_id = s.plaza_id AND c.period_start = p.period_start
      LEFT JOIN station_reference r ON r.plaza_id = s.plaza_id
        AND r.day_of_week = ${d.dayOfWeek('p.period_start')}
        AND r.slot = ${d.slotOfDay(30, 'p.period_start')}
      ORDER BY s.plaza_id, p.period_start`;
    },
    // Over several plazas the counts and thresholds add up: run it for one plaza to see that plaza's alerts.
    chart: { x: 'period_start', values: ['vehicles', 'expected_count'], unit: 'count', thresholds: ['alert_threshold'] },
  },
];
