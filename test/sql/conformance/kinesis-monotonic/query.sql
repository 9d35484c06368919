-- Kinesis Data Analytics SQL Reference, Monotonic Function: MONOTONIC(orderId) declares that the line items
-- of an order are consecutive in the stream (orders 1000, 1001, 1005 as on the page), so a streaming GROUP BY
-- can use it as its key; an order's row is emitted when the next order's first line item arrives, the last
-- one when the input ends:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-monotonic.html
-- The page shows no query or rows: the query and the line items are our own, on the page's LINEITEMS stream.
CREATE OR REPLACE STREAM "ORDER_TOTALS" (orderId INTEGER, items INTEGER, total INTEGER);
CREATE OR REPLACE PUMP "TOTALS_PUMP" AS INSERT INTO "ORDER_TOTALS"
  SELECT STREAM MONOTONIC(orderId), COUNT(*), SUM(amount)
  FROM LINEITEMS
  GROUP BY MONOTONIC(orderId);
