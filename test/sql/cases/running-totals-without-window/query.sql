-- GROUP BY without a window emits the group's updated row for every row that changes it.
-- HAVING filters the updates; FILTER (WHERE ...) restricts one aggregate.
CREATE TABLE tolls (customer_id VARCHAR(16), vehicle_class VARCHAR(8), amount_cents BIGINT) WITH ('stream' = 'tolls');
CREATE TABLE totals (customer_id VARCHAR(16), trips BIGINT, priced BIGINT, total_cents BIGINT, truck_cents BIGINT, avg_cents DOUBLE, classes BIGINT) WITH ('stream' = 'totals');

INSERT INTO totals
SELECT customer_id, COUNT(*), COUNT(amount_cents), SUM(amount_cents), SUM(amount_cents) FILTER (WHERE vehicle_class = 'truck'),
       AVG(amount_cents), COUNT(DISTINCT vehicle_class)
FROM tolls
GROUP BY customer_id
HAVING COUNT(*) >= 2 OR SUM(amount_cents) > 500;
