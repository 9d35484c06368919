-- fail: SQL_PLAN 4:99 a temporal join must equate rates's PRIMARY KEY column currency with the left side
CREATE TABLE orders (id VARCHAR(8), currency VARCHAR(3), order_time TIMESTAMP(3), WATERMARK FOR order_time AS order_time);
CREATE TABLE rates (currency VARCHAR(3), rate DOUBLE, update_time TIMESTAMP(3), WATERMARK FOR update_time AS update_time, PRIMARY KEY (currency) NOT ENFORCED);
SELECT o.id, r.rate FROM orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON r.rate > 1.0;
