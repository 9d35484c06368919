-- Flink SQL documentation, Queries > Deduplication: keep the first row of each order_id,
-- ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY <time attribute> ASC) = 1:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/deduplication/
-- The page orders by a processing-time attribute (PROCTIME()), which this engine does not have; the page
-- allows a rowtime attribute as well, used here (order_time): "first" is then the earliest order_time, not
-- the first to arrive. The page gives no rows: ours repeat o1 (the later copy arrives first) and o2, with
-- two copies of o3 at one time (the first to arrive wins the tie). The second query keeps the first two
-- rows per user, numbered.
CREATE TABLE Orders (
  order_id    STRING,
  `user`      STRING,
  product     STRING,
  num         BIGINT,
  order_time  TIMESTAMP(3),
  WATERMARK FOR order_time AS order_time - INTERVAL '1' MINUTE
);

SELECT order_id, `user`, product, num
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY order_time ASC) AS row_num
  FROM Orders)
WHERE row_num = 1;

SELECT order_id, `user`, row_num
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY `user` ORDER BY order_time) AS row_num
  FROM Orders)
WHERE row_num <= 2;
