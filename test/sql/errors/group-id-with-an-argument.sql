-- fail: SQL_PLAN 3:25 GROUP_ID takes no arguments
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, COUNT(*), GROUP_ID(plate) FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, plate;
