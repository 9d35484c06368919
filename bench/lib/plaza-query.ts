/**
 * The continuous query bench:e2e runs next to the alerts (and bench/sql/live.ts measures alone): trips and
 * revenue per plaza in 10 s tumbling windows of event time, the kind of query an operator's dashboard runs.
 */
export const PLAZA_QUERY_NAME = 'e2e_plaza_revenue';

export const PLAZA_QUERY_SQL = `
CREATE TABLE tolls (
  transaction_id VARCHAR(64), plaza_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('stream' = 'toll_transactions');
CREATE TABLE plaza_revenue (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), plaza_id VARCHAR(16), trips BIGINT, total_cents BIGINT
) WITH ('stream' = 'e2e_plaza_revenue');
INSERT INTO plaza_revenue
SELECT window_start, window_end, plaza_id, COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, plaza_id;
`;
