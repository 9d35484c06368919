-- Flink SQL documentation, Queries > Joins > Interval Joins (orders with their shipments within four hours):
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/joins/
-- The page gives no rows: ours have a shipment 3 h after its order (joined), one 5 h after (not), one exactly
-- 4 h after (joined: BETWEEN takes its bounds) and one before its order (not).
CREATE TABLE Orders (id BIGINT, order_time TIMESTAMP(3), WATERMARK FOR order_time AS order_time);
CREATE TABLE Shipments (order_id BIGINT, ship_time TIMESTAMP(3), WATERMARK FOR ship_time AS ship_time);

SELECT *
FROM Orders o, Shipments s
WHERE o.id = s.order_id
AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time;
