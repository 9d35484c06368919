-- fail: SQL_SYNTAX 3:33 IGNORE NULLS applies to LAG, FIRST_VALUE, LAST_VALUE and NTH_VALUE, not to SUM
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, SUM(amount_cents) IGNORE NULLS OVER (PARTITION BY plate ORDER BY event_time ROWS 2 PRECEDING) AS f FROM tolls;
