-- fail: SQL_PLAN 3:1 a SESSION window partitioned by plate must be grouped by exactly those columns
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT window_start, COUNT(*) AS n FROM TABLE(SESSION(TABLE tolls PARTITION BY plate, DESCRIPTOR(event_time), INTERVAL '5' MINUTE)) GROUP BY window_start, window_end;
