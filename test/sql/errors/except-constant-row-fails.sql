-- fail: SQL_PLAN 3:25 a constant row on the right of EXCEPT cannot be computed
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls EXCEPT SELECT CAST(1 / n AS VARCHAR) FROM (VALUES (0)) AS v(n);
