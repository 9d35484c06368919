-- Tolls from two plaza systems, merged with UNION ALL inside a WITH query, counted per 10-second window.
-- The east input's watermark runs ahead; the window only closes once the west input's watermark (the
-- minimum of the two) passes its end, so west's rows 8 s late still count. The WITH query is read twice
-- (two INSERTs), and each reading gives the same rows. A BIGINT column unioned with a DOUBLE is a DOUBLE.
CREATE TABLE east (plate VARCHAR(16), amount DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'east');
CREATE TABLE west (plate VARCHAR(16), amount BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '10' SECOND) WITH ('stream' = 'west');
CREATE TABLE per_window (window_start TIMESTAMP(3), trips BIGINT, total DOUBLE) WITH ('stream' = 'per_window');
CREATE TABLE big_tolls (plate VARCHAR(16), amount DOUBLE, ts TIMESTAMP(3)) WITH ('stream' = 'big_tolls');

INSERT INTO per_window
WITH tolls AS (
  SELECT plate, amount, ts FROM east
  UNION ALL
  SELECT plate, amount, ts FROM west WHERE plate <> 'SKIP'
)
SELECT window_start, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;

INSERT INTO big_tolls
WITH tolls AS (SELECT plate, amount, ts FROM east UNION ALL SELECT plate, amount, ts FROM west), big AS (SELECT * FROM tolls WHERE amount >= 5)
SELECT plate, amount, ts FROM big;
