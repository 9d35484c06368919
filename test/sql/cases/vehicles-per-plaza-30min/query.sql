-- ABC Tolls: distinct vehicles and revenue per plaza per 30-minute window.
CREATE TABLE tolls (
  plate VARCHAR(16),
  plaza_id INT,
  amount_cents BIGINT,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '1' MINUTE
) WITH ('stream' = 'tolls');

CREATE TABLE plaza_traffic (
  plaza_id INT,
  window_start TIMESTAMP(3),
  vehicles BIGINT,
  passages BIGINT,
  revenue_cents BIGINT
) WITH ('stream' = 'plaza_traffic');

INSERT INTO plaza_traffic
SELECT plaza_id, window_start, COUNT(DISTINCT plate) AS vehicles, COUNT(*) AS passages, SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '30' MINUTES))
GROUP BY plaza_id, window_start, window_end;
