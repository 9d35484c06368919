-- Top-N per window: the two biggest spenders of each 10-minute window.
CREATE TABLE tolls (customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND) WITH ('stream' = 'tolls');
CREATE TABLE top_spenders (window_start TIMESTAMP(3), customer_id VARCHAR(16), total_cents BIGINT, rank_in_window BIGINT) WITH ('stream' = 'top');

CREATE VIEW spend AS
SELECT window_start, window_end, customer_id, SUM(amount_cents) AS total_cents
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' MINUTE))
GROUP BY window_start, window_end, customer_id;

INSERT INTO top_spenders
SELECT window_start, customer_id, total_cents, rn
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY total_cents DESC, customer_id) AS rn
  FROM spend
)
WHERE rn <= 2;
