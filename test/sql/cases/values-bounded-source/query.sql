-- VALUES as a bounded source: on its own (the form of Flink's documentation), and united with a stream
-- (corrections typed in by hand, added to the plaza counts of each 10-second window).
CREATE TABLE tolls (plaza VARCHAR(8), amount BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('stream' = 'tolls');
CREATE TABLE per_window (window_start TIMESTAMP(3), plaza VARCHAR(8), trips BIGINT, total BIGINT) WITH ('stream' = 'per_window');

SELECT id, name, id * 1.5 AS weighted FROM (VALUES (1, 'a'), (2, 'b'), (3, CAST(NULL AS VARCHAR))) AS t(id, name);

INSERT INTO per_window
WITH all_tolls AS (
  SELECT plaza, amount, ts FROM tolls
  UNION ALL
  SELECT plaza, amount, ts FROM (VALUES ('P1', 100, TIMESTAMP '2026-01-01 00:00:03'), ('P2', -50, TIMESTAMP '2026-01-01 00:00:14')) AS fix(plaza, amount, ts)
)
SELECT window_start, plaza, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE all_tolls, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, plaza;
