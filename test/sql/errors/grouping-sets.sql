-- fail: SQL_SYNTAX 3:130 GROUPING SETS is not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT window_start, plate, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' MINUTE)) GROUP BY GROUPING SETS ((window_start, window_end, plate), (window_start, window_end));
