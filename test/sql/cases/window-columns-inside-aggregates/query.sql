-- window_start, window_end and window_time read inside an aggregate's argument and FILTER (legal in Flink,
-- met in the Linear Road toll application: the positions of a vehicle in the last part of each window), over
-- TUMBLE, HOP and CUMULATE; and GROUP BY window_time beside window_start and window_end.
CREATE TABLE positions (
  vid INT, pos BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
);

CREATE TABLE tumble_out (window_start TIMESTAMP(3), vid INT, reports BIGINT, late_reports BIGINT, last_pos BIGINT, max_age_ms BIGINT);
INSERT INTO tumble_out
SELECT window_start, vid, COUNT(*),
  COUNT(*) FILTER (WHERE ts >= window_end - INTERVAL '30' SECOND),
  MAX(pos) FILTER (WHERE ts >= window_end - INTERVAL '30' SECOND),
  MAX(window_end - ts)
FROM TABLE(TUMBLE(TABLE positions, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, window_time, vid;

CREATE TABLE hop_out (window_start TIMESTAMP(3), window_end TIMESTAMP(3), first_half BIGINT, second_half BIGINT);
INSERT INTO hop_out
SELECT window_start, window_end,
  COUNT(*) FILTER (WHERE ts < window_start + INTERVAL '30' SECOND),
  COUNT(*) FILTER (WHERE ts >= window_start + INTERVAL '30' SECOND)
FROM TABLE(HOP(TABLE positions, DESCRIPTOR(ts), INTERVAL '30' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;

CREATE TABLE cumulate_out (window_start TIMESTAMP(3), window_end TIMESTAMP(3), in_last_step BIGINT);
INSERT INTO cumulate_out
SELECT window_start, window_end, SUM(CASE WHEN ts >= window_end - INTERVAL '20' SECOND THEN 1 ELSE 0 END)
FROM TABLE(CUMULATE(TABLE positions, DESCRIPTOR(ts), INTERVAL '20' SECOND, INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
