-- Flink SQL documentation, Queries > Joins > Temporal Joins > Event Time Temporal Join: orders joined with
-- the currency rate valid at each order's time, from the versioned table currency_rates:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/joins/
-- The page gives the two EUR orders and their rates (1.14 at 12:00, 1.10 at 12:06) but not when the rates
-- changed: here EUR is 1.14 from 09:00 and 1.10 from 12:05. Our own rows add a rate update that comes after
-- an order it does not apply to (12:10), an order whose currency has no rate (kept with NULL by the LEFT
-- join), an order before any rate of its currency, and an order at exactly a version's time (that version
-- applies). The second query is the same as an inner join, which drops orders without a rate.
CREATE TABLE orders (
    order_id    STRING,
    price       DECIMAL(32,2),
    currency    STRING,
    order_time  TIMESTAMP(3),
    WATERMARK FOR order_time AS order_time - INTERVAL '15' SECOND
);

CREATE TABLE currency_rates (
    currency STRING,
    conversion_rate DECIMAL(32, 2),
    update_time TIMESTAMP(3),
    WATERMARK FOR update_time AS update_time - INTERVAL '15' SECOND,
    PRIMARY KEY(currency) NOT ENFORCED
);

SELECT
     order_id,
     price,
     orders.currency,
     conversion_rate,
     order_time
FROM orders
LEFT JOIN currency_rates FOR SYSTEM_TIME AS OF orders.order_time
ON orders.currency = currency_rates.currency;

SELECT order_id, price * conversion_rate AS converted
FROM orders
JOIN currency_rates FOR SYSTEM_TIME AS OF orders.order_time
ON orders.currency = currency_rates.currency;
