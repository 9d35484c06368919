-- fail: SQL_PLAN 3:52 IN (SELECT ...) is only supported as a condition of WHERE
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls WHERE plate = 'B' OR plate IN (SELECT p FROM (VALUES ('A')) AS v(p));
