-- Flink SQL documentation, Queries > Over Aggregation (both queries of the page):
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/over-agg/
-- The page gives no rows: these are our own, out of order (08:10 comes after 08:30), with a row exactly one
-- hour before 09:00 (in the range: the page's RANGE takes the rows "at most" the interval older) and rows of
-- the same time (each sees the others). The answers follow order_time, not the order rows arrive in.
CREATE TABLE Orders (
  order_id BIGINT, product VARCHAR(8), amount BIGINT, order_time TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '1' HOUR
);

SELECT order_id, order_time, amount,
  SUM(amount) OVER (
    PARTITION BY product
    ORDER BY order_time
    RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW
  ) AS one_hour_prod_amount_sum
FROM Orders;

SELECT order_id, order_time, amount,
  SUM(amount) OVER w AS sum_amount,
  AVG(amount) OVER w AS avg_amount
FROM Orders
WINDOW w AS (
  PARTITION BY product
  ORDER BY order_time
  RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW);
