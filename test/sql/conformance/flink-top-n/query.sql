-- Flink SQL documentation, Queries > Top-N, its example "the top five products per category with the
-- most sales in real time" (ROW_NUMBER() OVER (PARTITION BY category ORDER BY sales DESC), row_num <= 5)
-- and the same query in the page's "no ranking number" form (row_num not selected):
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/topn/
-- The page gives no rows; ours put seven books and two fruits in, and the expected rows were worked out by
-- hand from the page's rules. The result is updating: with row_num selected, each change sends the rows
-- whose number changed, each with its new number (the row last sent for a (category, row_num) is the one in
-- that place); without it, only the row entering the top five is sent. Hamlet (3) never enters; Ivanhoe
-- (40) comes last and pushes Walden (5) out; Pear ties Apple at 8 and ranks after it (the earlier first).
-- The page's ShopSales has product_id as an upsert key; here every record is a new row.
CREATE TABLE ShopSales (
  product_id   STRING,
  category     STRING,
  product_name STRING,
  sales        BIGINT
);

SELECT *
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY category ORDER BY sales DESC) AS row_num
  FROM ShopSales)
WHERE row_num <= 5;

SELECT product_id, category, product_name, sales
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY category ORDER BY sales DESC) AS row_num
  FROM ShopSales)
WHERE row_num <= 5;
