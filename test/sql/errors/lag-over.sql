-- fail: SQL_PLAN 3:15 LAG OVER (...) is not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, LAG(amount_cents) OVER (PARTITION BY plate ORDER BY event_time RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) AS f FROM tolls;
