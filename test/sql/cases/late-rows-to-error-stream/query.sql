-- Rows later than the watermark allows are not counted in a closed window: they go to the error stream.
CREATE TABLE tolls (
  plate VARCHAR(16),
  amount_cents BIGINT,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND
) WITH ('stream' = 'tolls');

CREATE TABLE per_minute (window_start TIMESTAMP(3), passages BIGINT, total_cents BIGINT) WITH ('stream' = 'per_minute');

INSERT INTO per_minute
SELECT window_start, COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
