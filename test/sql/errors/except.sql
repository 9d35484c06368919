-- fail: SQL_SYNTAX 3:25 EXCEPT is not supported
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls EXCEPT SELECT plate FROM tolls;
