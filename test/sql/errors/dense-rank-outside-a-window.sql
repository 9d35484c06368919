-- fail: SQL_PLAN 3:34 DENSE_RANK() is not supported on a stream: Top-N and window Top-N rank with ROW_NUMBER only, as Flink's streaming mode does
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM (SELECT plate, DENSE_RANK() OVER (PARTITION BY plate ORDER BY amount_cents DESC) AS rk FROM tolls) WHERE rk <= 3;
