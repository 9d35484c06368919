-- fail: SQL_PLAN 3:1 UNION ALL reads the output of a GROUP BY without a window
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, COUNT(*) AS n FROM tolls GROUP BY plate UNION ALL SELECT plate, amount_cents FROM tolls;
