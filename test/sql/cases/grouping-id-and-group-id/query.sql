-- Flink's GROUPING_ID(k, ...) (the bit vector of the keys a grouping set leaves out, as GROUPING gives it)
-- and GROUP_ID() (0 for a set's first appearance, 1 for its first repeat: the set (plaza) is written twice),
-- over TUMBLE windows; in a GROUP BY without sets every key is in the one set, so both are 0.
CREATE TABLE tolls (plaza VARCHAR(8), lane VARCHAR(8), event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
CREATE TABLE by_sets (plaza VARCHAR(8), lane VARCHAR(8), gid BIGINT, repeat BIGINT, n BIGINT) WITH ('stream' = 'by_sets');
CREATE TABLE by_keys (plaza VARCHAR(8), lane VARCHAR(8), gid BIGINT, repeat BIGINT, g BIGINT, n BIGINT) WITH ('stream' = 'by_keys');

INSERT INTO by_sets
SELECT plaza, lane, GROUPING_ID(plaza, lane), GROUP_ID(), COUNT(*)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, GROUPING SETS ((plaza), (lane), (plaza), ());

INSERT INTO by_keys
SELECT plaza, lane, GROUPING_ID(plaza, lane), GROUP_ID(), GROUPING(lane), COUNT(*)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, plaza, lane;
