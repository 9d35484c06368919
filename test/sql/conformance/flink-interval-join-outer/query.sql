-- Flink SQL documentation, Queries > Joins > Interval Joins: the page's orders and shipments within four
-- hours, as LEFT, RIGHT and FULL OUTER joins (the page: interval joins take INNER, LEFT, RIGHT and FULL OUTER).
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/joins/
-- The page gives no rows: ours are those of flink-interval-join. Order 2 (shipped 5 h later) and order 4
-- (shipped before it) match nothing: they come padded with NULLs once the watermark has passed the last
-- time a shipment could match them; so do the shipments of orders 2 and 4 on the right.
CREATE TABLE Orders (id BIGINT, order_time TIMESTAMP(3), WATERMARK FOR order_time AS order_time);
CREATE TABLE Shipments (order_id BIGINT, ship_time TIMESTAMP(3), WATERMARK FOR ship_time AS ship_time);

SELECT *
FROM Orders o LEFT JOIN Shipments s
ON o.id = s.order_id
AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time;

SELECT *
FROM Orders o RIGHT JOIN Shipments s
ON o.id = s.order_id
AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time;

SELECT *
FROM Orders o FULL OUTER JOIN Shipments s
ON o.id = s.order_id
AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time;
