-- fail: SQL_PLAN 4:43 a temporal join reads a versioned table, and rates is not one: it needs a PRIMARY KEY and a WATERMARK
CREATE TABLE orders (id VARCHAR(8), currency VARCHAR(3), order_time TIMESTAMP(3), WATERMARK FOR order_time AS order_time);
CREATE TABLE rates (currency VARCHAR(3), rate DOUBLE, update_time TIMESTAMP(3), WATERMARK FOR update_time AS update_time);
SELECT o.id, r.rate FROM orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.order_time AS r ON o.currency = r.currency;
