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
  /** How the console charts the result; without it the console picks a value column itself. */
  readonly chart?: ReportChart;
}

/**
 * The chart of a report, by result column names. One value axis: every value and threshold column is in `unit`.
 * Rows with the same `x` are added up, or, with `seriesBy`, drawn as one series per distinct value of that column.
 */
export interface ReportChart {
  /** The x axis: a time column, or a text column whose values are categories. */
  readonly x: string;
  /** The columns drawn as bars (one column) or lines (several). */
  readonly values: readonly string[];
  /** `money`: integer cents, labelled as money; `count`: plain numbers. */
  readonly unit: 'money' | 'count';
  /** A column whose values split the rows into series (one per plaza, say), instead of adding them up. */
  readonly seriesBy?: string;
  /** With `seriesBy`: only the series with the largest totals are drawn. @default 5 */
  readonly top?: number;
  /** Columns drawn as dashed lines (limits to compare the values against), combined like the values. */
  readonly thresholds?: readonly string[];
}

/** Half-open event-time range [from, to), and the optional filters. */
const FILTERS = `event_time >= $from AND event_time < $to
      AND ($plaza::VARCHAR IS NULL OR plaza_id = $plaza)
      AND ($vehicle_class::SMALLINT IS NULL OR vehicle_class = $vehicle_class)`;

/** The platform's reports, over the table it delivers (toll_transactions); apps declare their own. */
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
    chart: { x: 'hour', values: ['revenue_cents'], unit: 'money', seriesBy: 'plaza_id', top: 5 },
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
    chart: { x: 'day', values: ['revenue_cents'], unit: 'money', seriesBy: 'vehicle_class' },
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
    chart: { x: 'customer_id', values: ['spend_cents'], unit: 'money' },
  },
];
