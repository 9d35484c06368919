-- fail: SQL_PLAN 3:59 IN (SELECT ...) reads tolls, which is not a reference table or VALUES: a subquery over a stream is not supported
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls WHERE plate IN (SELECT plate FROM tolls);
