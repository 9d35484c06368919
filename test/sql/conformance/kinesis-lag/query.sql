-- Kinesis Data Analytics SQL Reference, LAG, example 1 (the price of the ticker's previous record, over a
-- window of one minute) with RESPECT NULLS (the default) and IGNORE NULLS:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-lag.html
-- The page runs it on the demo stock stream and shows its output only as a picture: the rows are our own.
-- A record that fell out of the one-minute window gives the default (a record exactly one minute older has
-- left it, as in the sliding-window walk-through); the default does not replace a NULL the record holds;
-- IGNORE NULLS skips records whose price is NULL.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  ticker_symbol VARCHAR(4),
  price DOUBLE,
  previous_price DOUBLE,
  price_diff DOUBLE,
  last_known_price DOUBLE);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker_symbol, price,
    LAG(price, 1, 0) OVER W1,
    price - LAG(price, 1, 0) OVER W1,
    LAG(price) IGNORE NULLS OVER W1
  FROM SOURCE_SQL_STREAM_001
  WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING);
