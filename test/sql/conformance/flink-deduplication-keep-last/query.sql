-- Flink SQL documentation, Queries > Deduplication: ORDER BY the time attribute DESC with row_num = 1
-- keeps the last row of each order_id (the page's example keeps the first, ASC, and says DESC keeps the
-- last): https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/deduplication/
-- As in flink-deduplication, order_time (a rowtime attribute, which the page allows) stands for the page's
-- PROCTIME(). The page gives no rows; these were worked out by hand. The result is updating: a row is sent
-- when it becomes its order's last, so the row last sent for an order_id is the kept one. o1's second copy
-- is older (08:00:10) and is never sent; o3's two copies share one time, and the later to come is the last
-- (Flink's keep-last on rowtime replaces on an equal time too); o2's later copy (08:05) replaces the first.
-- The second query is a Top-N by time DESC (not a deduplication): the two latest orders of each user, each
-- change sending the rows whose number changed; ties there keep arrival order, the first ahead.
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
    ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY order_time DESC) AS row_num
  FROM Orders)
WHERE row_num = 1;

SELECT order_id, `user`, num, row_num
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY `user` ORDER BY order_time DESC) AS row_num
  FROM Orders)
WHERE row_num <= 2;
