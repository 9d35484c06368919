-- Kinesis Data Analytics SQL Reference, TOP_K_ITEMS_TUMBLING, Example 1: the 5 most frequent ticker symbols
-- of each 60-second tumbling window:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/top-k.html
-- The page shows its output only as a picture: the rows are our own. The count here is exact (the page
-- allows an approximation); values with the same count rank by value, so ORCL (1) is the one left out of
-- the first window.
CREATE OR REPLACE STREAM DESTINATION_SQL_STREAM (
  "TICKER_SYMBOL" VARCHAR(4),
  "MOST_FREQUENT_VALUES" BIGINT
);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
    INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM *
        FROM TABLE (TOP_K_ITEMS_TUMBLING(
            CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"),
            'TICKER_SYMBOL',         -- name of column in single quotes
            5,                       -- number of the most frequently occurring values
            60                       -- tumbling window size in seconds
            )
        );
