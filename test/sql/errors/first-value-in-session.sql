-- fail: SQL_PLAN 3:22 FIRST_VALUE is not supported in SESSION windows
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT window_start, FIRST_VALUE(amount_cents) AS f FROM TABLE(SESSION(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '5' MINUTE)) GROUP BY window_start, window_end;
