-- fail: SQL_PLAN 3:67 an OVER window on a stream looks back in time, so it cannot ORDER BY ... DESC
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time);
SELECT plate, SUM(amount_cents) OVER (PARTITION BY plate ORDER BY event_time DESC RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) AS s FROM tolls;
