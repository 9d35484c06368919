-- fail: SQL_SYNTAX 3:111 HOP has no argument GAP here
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT * FROM TABLE(HOP(DATA => TABLE tolls, TIMECOL => DESCRIPTOR(event_time), SIZE => INTERVAL '10' MINUTE, GAP => INTERVAL '1' MINUTE));
