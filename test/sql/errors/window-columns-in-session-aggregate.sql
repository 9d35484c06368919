-- fail: SQL_PLAN 4:29 window_start, window_end and window_time cannot be read inside an aggregate of a SESSION window
-- inputs: tolls
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time);
SELECT window_start, plate, COUNT(*) FILTER (WHERE event_time < window_start + INTERVAL '1' MINUTE)
FROM TABLE(SESSION(TABLE tolls PARTITION BY plate, DESCRIPTOR(event_time), INTERVAL '5' MINUTE))
GROUP BY window_start, window_end, plate;
