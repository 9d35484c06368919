/**
 * The named reports: each is one parameterised SQL statement over the warehouse. Values are always bound
 * parameters (`$from`, `$plaza`...), never spliced into the SQL text.
 */

import type { SqlDialect } from '../warehouse/index.ts';

export type ParameterName = 'from' | 'to' | 'plaza' | 'vehicleClass' | 'limit';

export interface ReportDefinition {
  readonly name: string;
  readonly description: string;
  /** The parameters the report accepts; any other is refused. */
  readonly parameters: readonly ParameterName[];
  /** The statement, written once: the dialect fills in what DuckDB and PostgreSQL spell differently. */
  readonly sql: (dialect: SqlDialect) => string;
}

/** Half-open event-time range [from, to), and the optional filters. */
const FILTERS = `event_time >= $from AND event_time < $to
      AND ($plaza::VARCHAR IS NULL OR plaza_id = $plaza)
      AND ($vehicle_class::SMALLINT IS NULL OR vehicle_class = $vehicle_class)`;

/** The platform's reports, over the tables it delivers (toll_transactions, station_reference); apps declare their own. */
export const REPORTS: readonly ReportDefinition[] = [
  {
    name: 'revenue_by_plaza_hour',
    description: 'Trips and revenue (integer cents) per plaza per hour of event time, per currency.',
    parameters: ['from', 'to', 'plaza', 'vehicleClass'],
    sql: () => `
      SELECT plaza_id, date_trunc('hour', event_time) AS hour, currency,
             count(*)::BIGINT AS trips, sum(amount_cents)::BIGINT AS revenue_cents
      FROM toll_transactions
      WHERE ${FILTERS}
      GROUP BY plaza_id, hour, currency
      ORDER BY plaza_id, hour, currency`,
  },
  {
    name: 'revenue_by_vehicle_class_day',
    description: 'Trips and revenue (integer cents) per vehicle class per UTC day, per currency.',
    parameters: ['from', 'to', 'plaza', 'vehicleClass'],
    sql: () => `
      SELECT vehicle_class, CAST(event_time AS DATE) AS day, currency,
             count(*)::BIGINT AS trips, sum(amount_cents)::BIGINT AS revenue_cents
      FROM toll_transactions
      WHERE ${FILTERS}
      GROUP BY vehicle_class, day, currency
      ORDER BY day, vehicle_class, currency`,
  },
  {
    name: 'top_customers',
    description: 'The customers who spent most (integer cents) in the range, per currency; ties by customer id.',
    parameters: ['from', 'to', 'plaza', 'vehicleClass', 'limit'],
    sql: () => `
      SELECT customer_id, currency, count(*)::BIGINT AS trips, sum(amount_cents)::BIGINT AS spend_cents
      FROM toll_transactions
      WHERE customer_id IS NOT NULL AND ${FILTERS}
      GROUP BY customer_id, currency
      ORDER BY spend_cents DESC, customer_id, currency
      LIMIT $limit`,
  },
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
  },
];
