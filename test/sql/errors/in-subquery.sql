-- fail: SQL_PLAN 3:37 a join of two streams needs a time bound
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls WHERE plate IN (SELECT plate FROM tolls);
