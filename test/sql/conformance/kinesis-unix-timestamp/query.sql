-- Kinesis Data Analytics SQL Reference, UNIX_TIMESTAMP, example 1:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-unix-timestamp.html
-- The page gives the SQL and says the result is milliseconds since 1970-01-01 00:00:00 UTC, a BIGINT; it
-- shows its rows only as a picture, so the rows here are our own.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
        ticker_symbol VARCHAR(4),
        SECTOR VARCHAR(16),
        CHANGE REAL,
        CHANGE_TIME BIGINT,
        PRICE REAL);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM   TICKER_SYMBOL, SECTOR, CHANGE, UNIX_TIMESTAMP(CHANGE_TIME), PRICE
FROM    "SOURCE_SQL_STREAM_001";
