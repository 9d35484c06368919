-- Flink's SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap), grouped by the partition column: a supplier's
-- bids less than 5 minutes apart share a session, which ends 5 minutes after its last bid.
CREATE TABLE Bid (
  bidtime TIMESTAMP(3), price DECIMAL(10, 2), item STRING, supplier_id STRING,
  WATERMARK FOR bidtime AS bidtime - INTERVAL '1' SECOND
);

SELECT window_start, window_end, supplier_id, SUM(price) AS total_price
  FROM TABLE(
      SESSION(TABLE Bid PARTITION BY supplier_id, DESCRIPTOR(bidtime), INTERVAL '5' MINUTES))
  GROUP BY supplier_id, window_start, window_end;
