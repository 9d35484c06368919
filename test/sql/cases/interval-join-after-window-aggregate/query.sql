-- The busiest plazas of every minute: per-plaza counts of a 1-minute TUMBLE, joined back with the maximum
-- count of their minute. Both join inputs are windowed aggregates, so their rows reach the join only when
-- the watermark has passed their window (the maximum one window later still): the join must keep a count
-- until its maximum can no longer come, even with a zero-width time bound.
CREATE TABLE passages (plate VARCHAR(16), plaza_id INT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '10' SECOND) WITH ('stream' = 'passages');
CREATE TABLE busiest_plazas (window_start TIMESTAMP(3), plaza_id INT, passages BIGINT) WITH ('stream' = 'busiest_plazas');

CREATE VIEW plaza_counts AS
SELECT window_start, window_end, plaza_id, COUNT(*) AS n
FROM TABLE(TUMBLE(TABLE passages, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, plaza_id;

CREATE VIEW busiest AS
SELECT window_start AS minute_end, MAX(n) AS top_n
FROM TABLE(TUMBLE(TABLE plaza_counts, DESCRIPTOR(window_end), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;

INSERT INTO busiest_plazas
SELECT c.window_start, c.plaza_id, c.n
FROM plaza_counts c JOIN busiest b
  ON c.window_end = b.minute_end AND c.n = b.top_n
  AND b.minute_end BETWEEN c.window_end AND c.window_end;
