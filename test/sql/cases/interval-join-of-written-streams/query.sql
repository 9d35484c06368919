-- The busiest plazas of every minute, with the counts and their maximum written to streams of their own
-- and the join reading those streams: the join follows each stream to the aggregate writing it to know how
-- far behind the watermark its rows come.
CREATE TABLE passages (plate VARCHAR(16), plaza_id INT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND) WITH ('stream' = 'passages');
CREATE TABLE plaza_counts (window_start TIMESTAMP(3), window_end TIMESTAMP(3), plaza_id INT, n BIGINT) WITH ('stream' = 'plaza_counts');
CREATE TABLE busiest (minute_end TIMESTAMP(3), top_n BIGINT) WITH ('stream' = 'busiest');
CREATE TABLE busiest_plazas (window_start TIMESTAMP(3), plaza_id INT, passages BIGINT) WITH ('stream' = 'busiest_plazas');

INSERT INTO plaza_counts
SELECT window_start, window_end, plaza_id, COUNT(*)
FROM TABLE(TUMBLE(TABLE passages, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, plaza_id;

INSERT INTO busiest
SELECT window_start, MAX(n)
FROM TABLE(TUMBLE(TABLE plaza_counts, DESCRIPTOR(window_end), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;

INSERT INTO busiest_plazas
SELECT c.window_start, c.plaza_id, c.n
FROM plaza_counts c JOIN busiest b
  ON c.window_end = b.minute_end AND c.n = b.top_n
  AND b.minute_end BETWEEN c.window_end AND c.window_end;
