-- fail: SQL_SYNTAX 3:41 IN (SELECT ...) subqueries are not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls WHERE plate IN (SELECT plate FROM tolls);
