-- Flink SQL documentation, Functions > System (Built-in) Functions > Aggregate Functions, LAG(expression
-- [, offset] [, default]) in the OVER form of Queries > Over Aggregation (ORDER BY the time attribute,
-- without a frame: the whole partition before the row):
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/functions/systemfunctions/
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/over-agg/
-- The pages give no rows: these are our own, out of order (08:10 comes after 08:30), so the previous
-- order is the previous one in order_time, not in arrival. Two orders of 09:00 are peers: each looks back
-- from its place in the order they came. A ROWS frame of one row keeps LAG(amount, 2) out of reach.
CREATE TABLE Orders (
  order_id BIGINT, product VARCHAR(8), amount BIGINT, order_time TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '20' MINUTE
);

SELECT order_id, product, amount,
  LAG(amount) OVER (PARTITION BY product ORDER BY order_time) AS prev_amount,
  LAG(amount, 2, -1) OVER (PARTITION BY product ORDER BY order_time) AS amount_two_before,
  LAG(order_id, 2) OVER (PARTITION BY product ORDER BY order_time ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS out_of_frame
FROM Orders;
