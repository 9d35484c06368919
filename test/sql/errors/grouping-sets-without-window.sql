-- fail: SQL_PLAN 3:1 GROUPING SETS, ROLLUP and CUBE are supported over windows only
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, COUNT(*) AS n FROM tolls GROUP BY ROLLUP (plate);
