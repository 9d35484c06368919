-- Flink SQL documentation, Queries > Window Top-N, both examples (after a window aggregation, and after the
-- windowing TVF directly): https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/window-topn/
-- DECIMAL is a double here (6.00 is 6). In the second example two bids of the first window tie at 4.00 for
-- ranks 2 and 3; the page ranks the earlier one (A, 08:05) first, and so does this engine (ties keep arrival order).
-- The page's second table leaves out window_time, which SELECT * of a windowing TVF includes (window_end - 1 ms).
CREATE TABLE Bid (
  bidtime TIMESTAMP(3), price DECIMAL(10, 2), item STRING, supplier_id STRING,
  WATERMARK FOR bidtime AS bidtime - INTERVAL '1' SECOND
);

SELECT *
  FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) as rownum
    FROM (
      SELECT window_start, window_end, supplier_id, SUM(price) as price, COUNT(*) as cnt
      FROM TABLE(
        TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES))
      GROUP BY window_start, window_end, supplier_id
    )
  ) WHERE rownum <= 3;

SELECT *
  FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) as rownum
    FROM TABLE(
               TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES))
  ) WHERE rownum <= 3;
