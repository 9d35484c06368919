-- Flink SQL documentation, Queries > ORDER BY clause (SELECT * FROM Orders ORDER BY order_time, order_id) and
-- LIMIT clause (SELECT * FROM Orders ORDER BY orderTime LIMIT 3), which on a stream must be ordered by a
-- time attribute ascending first:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/orderby/
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/limit/
-- The pages give no rows: ours come out of order (within the watermark's 1 minute), with two orders of
-- one time (order_id orders them). The first query gives every row in time order; the second the first
-- three by time, whatever order they came in.
CREATE TABLE Orders (
  order_id BIGINT, product STRING, amount BIGINT, order_time TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '1' MINUTE
);

SELECT * FROM Orders ORDER BY order_time, order_id;

SELECT * FROM Orders ORDER BY order_time LIMIT 3;
