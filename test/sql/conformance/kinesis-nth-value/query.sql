-- Kinesis Data Analytics SQL Reference, NTH_VALUE: the nth value of the window counted from its first row
-- (the default, FROM FIRST), NULLs counted unless IGNORE NULLS, and NULL while the window holds fewer rows:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-nth-value.html
-- The page shows no rows: the rows are our own (a 10-second sliding window per ticker). FROM LAST counts back
-- from the window's last row (the current one).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(4), price REAL, second_price REAL, second_from_first REAL, second_not_null REAL, second_from_last REAL, second_from_last_not_null REAL);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker_symbol, price,
    NTH_VALUE(price, 2) OVER W1, NTH_VALUE(price, 2) FROM FIRST RESPECT NULLS OVER W1, NTH_VALUE(price, 2) IGNORE NULLS OVER W1,
    NTH_VALUE(price, 2) FROM LAST OVER W1, NTH_VALUE(price, 2) FROM LAST IGNORE NULLS OVER W1
  FROM "SOURCE_SQL_STREAM_001"
  WINDOW W1 AS (PARTITION BY ticker_symbol RANGE INTERVAL '10' SECOND PRECEDING);
