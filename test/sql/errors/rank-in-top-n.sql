-- fail: SQL_PLAN 3:26 RANK is not supported: Top-N and window Top-N rank with ROW_NUMBER only, as Flink documents them
CREATE TABLE Bid (bidtime TIMESTAMP(3), price DOUBLE, supplier_id STRING, WATERMARK FOR bidtime AS bidtime - INTERVAL '1' SECOND);
SELECT * FROM (SELECT *, RANK() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) AS rownum FROM (SELECT window_start, window_end, supplier_id, SUM(price) AS price FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES)) GROUP BY window_start, window_end, supplier_id)) WHERE rownum <= 3;
