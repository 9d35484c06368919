-- fail: SQL_SYNTAX 3:6 WITH RECURSIVE is not supported
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
WITH RECURSIVE t AS (SELECT * FROM tolls) SELECT * FROM t;
