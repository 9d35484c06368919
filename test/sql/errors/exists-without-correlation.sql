-- fail: SQL_PLAN 3:31 EXISTS (SELECT ...) needs an equality between the outer row and the subquery's table
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls WHERE EXISTS (SELECT 1 FROM (VALUES ('A')) AS v(p));
