-- fail: SQL_PLAN 3:37 NOT IN (SELECT ...) is not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls WHERE plate NOT IN (SELECT p FROM (VALUES ('A')) AS v(p));
