-- A Top-N outside windows filtered to a range of numbers: the operator keeps the best N (the upper bound)
-- and the filter picks the places asked for, so row 2 and 3 of each category are the rows last sent for
-- those places. The rows of flink-top-n's input; expected rows are the changes of that case at 2 and 3.
CREATE TABLE ShopSales (product_id STRING, category STRING, product_name STRING, sales BIGINT);

SELECT product_id, category, row_num
FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY category ORDER BY sales DESC) AS row_num FROM ShopSales)
WHERE row_num BETWEEN 2 AND 3;

SELECT product_id, category
FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY category ORDER BY sales DESC) AS row_num FROM ShopSales)
WHERE row_num = 2;
