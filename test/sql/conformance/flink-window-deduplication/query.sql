-- Flink SQL documentation, Queries > Window Deduplication: the last bid of every 10-minute tumbling window
-- (ROW_NUMBER ordered by bidtime DESC, rownum <= 1). The page shows no input: its Bid table is the one the
-- Window Top-N page shows (the rows of case flink-window-top-n), and the page's output follows from it:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/window-deduplication/
-- DECIMAL is a double here (5.00 is 5).
CREATE TABLE Bid (
  bidtime TIMESTAMP(3), price DECIMAL(10, 2), item STRING, supplier_id STRING,
  WATERMARK FOR bidtime AS bidtime - INTERVAL '1' SECOND
);

SELECT *
  FROM (
    SELECT bidtime, price, item, supplier_id, window_start, window_end,
      ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY bidtime DESC) as rownum
    FROM TABLE(
               TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES))
  ) WHERE rownum <= 1;
