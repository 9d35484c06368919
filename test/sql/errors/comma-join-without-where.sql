-- fail: SQL_SYNTAX 3:22 FROM a, b needs a WHERE that relates a and b
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT * FROM tolls a, tolls b;
