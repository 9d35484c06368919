-- fail: SQL_PLAN 3:31 GROUPING takes keys of the GROUP BY, and this is not one
CREATE TABLE tolls (plate VARCHAR(16), plaza VARCHAR(8), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT window_start, GROUPING(plaza) AS g, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' MINUTE)) GROUP BY window_start, window_end, ROLLUP (plate);
