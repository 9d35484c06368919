-- Flink SQL documentation, Functions > System (Built-in) Functions > Temporal Functions, UNIX_TIMESTAMP:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/functions/systemfunctions/
-- Seconds since the epoch (Kinesis Analytics' UNIX_TIMESTAMP gives milliseconds, see kinesis-unix-timestamp);
-- text is read as 'yyyy-MM-dd HH:mm:ss' unless a pattern is given. The zone is UTC. The rows are our own.
CREATE TABLE events (id BIGINT, ts TIMESTAMP(3), text_time VARCHAR(32), day_text VARCHAR(16));

SELECT id, UNIX_TIMESTAMP(ts) AS from_ts, UNIX_TIMESTAMP(text_time) AS from_text,
  UNIX_TIMESTAMP(day_text, 'dd/MM/yyyy') AS from_pattern
FROM events;
