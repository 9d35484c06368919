-- fail: SQL_PLAN 3:91 TUMBLE is not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, TUMBLE_START(event_time, INTERVAL '1' MINUTE), COUNT(*) FROM tolls GROUP BY TUMBLE(event_time, INTERVAL '1' MINUTE), plate;
