-- ABC Tolls: what each customer spent per 10-minute window (Flink-style window table function).
CREATE TABLE tolls (
  plate VARCHAR(16),
  customer_id VARCHAR(16),
  plaza_id INT,
  amount_cents BIGINT,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '30' SECOND
) WITH ('stream' = 'tolls');

CREATE TABLE customer_spend (
  window_start TIMESTAMP(3),
  window_end TIMESTAMP(3),
  customer_id VARCHAR(16),
  trips BIGINT,
  total_cents BIGINT
) WITH ('stream' = 'customer_spend');

INSERT INTO customer_spend
SELECT window_start, window_end, customer_id, COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' MINUTE))
GROUP BY window_start, window_end, customer_id;
