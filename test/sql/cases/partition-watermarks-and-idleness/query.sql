-- Watermarks are tracked per partition (the _partition field; shards in the live log) and merged as the
-- minimum, so a slow partition holds windows open; once it is silent longer than the idle timeout it no
-- longer holds them back, and a row it sends afterwards that is behind the watermark is late.
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls', 'watermark.idle-timeout' = '5 min');
CREATE TABLE per_minute (window_start TIMESTAMP(3), passages BIGINT, total BIGINT) WITH ('stream' = 'per_minute');

INSERT INTO per_minute
SELECT window_start, COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
