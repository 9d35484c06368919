-- Flink's LISTAGG(x[, separator]): the texts that are not NULL, in the order rows reach the aggregate, joined
-- by the separator (',' by default); NULL when a group has none. Per TUMBLE window (with DISTINCT and FILTER),
-- over an OVER window ordered by event time (oldest first), and in a GROUP BY without a window, whose every
-- update carries the whole list so far.
CREATE TABLE tolls (plaza VARCHAR(8), plate VARCHAR(16), event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'tolls');
CREATE TABLE per_minute (window_start TIMESTAMP(3), plaza VARCHAR(8), plates VARCHAR(256), plates_piped VARCHAR(256), distinct_plates VARCHAR(256), x_plates VARCHAR(256)) WITH ('stream' = 'per_minute');
CREATE TABLE recent (plaza VARCHAR(8), plate VARCHAR(16), last_minute VARCHAR(256)) WITH ('stream' = 'recent');
CREATE TABLE so_far (plaza VARCHAR(8), plates VARCHAR(256)) WITH ('stream' = 'so_far');

INSERT INTO per_minute
SELECT window_start, plaza, LISTAGG(plate), LISTAGG(plate, ' | '), LISTAGG(DISTINCT plate, ';'), LISTAGG(plate, '') FILTER (WHERE plate LIKE 'X%')
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, plaza;

INSERT INTO recent
SELECT plaza, plate, LISTAGG(plate, '+') OVER (PARTITION BY plaza ORDER BY event_time RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW)
FROM tolls;

INSERT INTO so_far
SELECT plaza, LISTAGG(plate, '/') FROM tolls GROUP BY plaza;
