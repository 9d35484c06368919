-- Kinesis Data Analytics SQL Reference, FIRST_VALUE and LAST_VALUE: without a null treatment, and with
-- RESPECT NULLS, the value of the first (last) row of the window, NULL included; with IGNORE NULLS the first
-- (last) value that is not NULL:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-first-value.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-last-value.html
-- The pages show no rows: the rows are our own (a 10-second sliding window per ticker).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  ticker_symbol VARCHAR(4), price REAL,
  first_price REAL, first_respecting REAL, first_ignoring REAL,
  last_price REAL, last_respecting REAL, last_ignoring REAL);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker_symbol, price,
    FIRST_VALUE(price) OVER W1, FIRST_VALUE(price) RESPECT NULLS OVER W1, FIRST_VALUE(price) IGNORE NULLS OVER W1,
    LAST_VALUE(price) OVER W1, LAST_VALUE(price) RESPECT NULLS OVER W1, LAST_VALUE(price) IGNORE NULLS OVER W1
  FROM "SOURCE_SQL_STREAM_001"
  WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '10' SECOND PRECEDING);
