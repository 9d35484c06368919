/** The reports of the ABC Tolls app, over the warehouse table its breaches are fed into (`threshold_breaches`). */
import type { ReportDefinition } from '../../reports/index.ts';

export const SPEND_ALERT_REPORTS: readonly ReportDefinition[] = [
  {
    name: 'threshold_breaches_per_day',
    description:
      'Spending-threshold breaches per UTC day (of the breach) and cause: breach notifications sent, distinct customers, ' +
      'and how far past their thresholds the totals were (integer cents). A breach delivered twice counts once.',
    parameters: ['from', 'to'],
    sql: () => `
      WITH breaches AS (
        SELECT breach_id, min(customer_id) AS customer_id, min(cause) AS cause, min(breached_at) AS breached_at,
               min(total_cents - threshold_cents) AS over_cents
        FROM threshold_breaches
        WHERE breached_at >= $from AND breached_at < $to
        GROUP BY breach_id
      )
      SELECT CAST(breached_at AS DATE) AS day, cause,
             count(*)::BIGINT AS breaches, count(DISTINCT customer_id)::BIGINT AS customers,
             sum(over_cents)::BIGINT AS over_threshold_cents
      FROM breaches
      GROUP BY day, cause
      ORDER BY day, cause`,
    chart: { x: 'day', values: ['over_threshold_cents'], unit: 'money', seriesBy: 'cause' },
  },
];
