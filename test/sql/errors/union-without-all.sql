-- fail: SQL_SYNTAX 3:48 UNION without ALL (removing duplicates) is not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls WHERE amount_cents > 5 UNION SELECT plate FROM tolls;
