-- Flink SQL documentation, Queries > Windowing TVF, "Window Offset": the window a record of 2021-06-30 00:00:04
-- falls in, for a 10-minute TUMBLE with offsets of -16, -6, -4, 0, 4, 6 and 16 minutes (the page lists the
-- windows in its text; the one row and the queries are written from that list):
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/window-tvf/
-- Each query writes its own stream (result, result_2, ... in this order).
CREATE TABLE Bid (
  bidtime TIMESTAMP(3), price DECIMAL(10, 2), item STRING,
  WATERMARK FOR bidtime AS bidtime - INTERVAL '1' SECOND
);

SELECT window_start, window_end FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTE, INTERVAL '-16' MINUTE));

SELECT window_start, window_end FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTE, INTERVAL '-6' MINUTE));

SELECT window_start, window_end FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTE, INTERVAL '-4' MINUTE));

SELECT window_start, window_end FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTE, INTERVAL '0' MINUTE));

SELECT window_start, window_end FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTE, INTERVAL '4' MINUTE));

SELECT window_start, window_end FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTE, INTERVAL '6' MINUTE));

SELECT window_start, window_end FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTE, INTERVAL '16' MINUTE));
