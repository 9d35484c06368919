-- fail: SQL_SYNTAX 3:28 named arguments (DATA => ...) are not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT * FROM TABLE(TUMBLE(DATA => TABLE tolls, TIMECOL => DESCRIPTOR(event_time), SIZE => INTERVAL '10' MINUTE));
