-- fail: SQL_PLAN 3:15 LEAD OVER (...) is not supported on a stream
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, LEAD(amount_cents) OVER (PARTITION BY plate ORDER BY event_time) AS f FROM tolls;
