-- fail: SQL_PLAN 3:25 EXCEPT over a stream on its right side is not supported
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls EXCEPT SELECT plate FROM tolls WHERE amount_cents > 100;
