-- fail: SQL_SYNTAX 3:32 HOP takes a slide and a size after the DESCRIPTOR, got 1 interval(s)
-- inputs: tolls
SELECT window_start FROM TABLE(HOP(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '5' MINUTE)) GROUP BY window_start, window_end;
