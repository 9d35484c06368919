-- Kinesis Data Analytics SQL Reference, COUNT_DISTINCT_ITEMS_TUMBLING: the number of distinct ticker symbols per
-- 60-second tumbling window, and the page's exact count of distinct rows per ticker in 5-second windows
-- written with SELECT STREAM DISTINCT and GROUP BY STEP:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/count-distinct-items.html
-- The page shows no rows: the rows are our own. The function's count is exact here (the page's is exact up
-- to 10,000 items and approximate beyond); NULL is not counted.
CREATE OR REPLACE STREAM DESTINATION_SQL_STREAM (NUMBER_OF_DISTINCT_ITEMS BIGINT);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
    INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM *
        FROM TABLE (COUNT_DISTINCT_ITEMS_TUMBLING(
            CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"),
            'TICKER_SYMBOL',         -- name of column in single quotes
            60                       -- tumbling window size in seconds
            )
        );

CREATE OR REPLACE STREAM output_stream (ticker_symbol VARCHAR(4), unique_count BIGINT);

CREATE OR REPLACE PUMP stream_pump AS
INSERT INTO output_stream
SELECT STREAM TICKER_SYMBOL, COUNT(distinct_stream.price) AS unique_count
  FROM (
    SELECT STREAM DISTINCT rowtime as window_time,
      TICKER_SYMBOL,
      CHANGE,
      PRICE,
      STEP((SOURCE_SQL_STREAM_001.rowtime) BY INTERVAL '5' SECOND)
      FROM SOURCE_SQL_STREAM_001) as distinct_stream
  GROUP BY TICKER_SYMBOL,
      STEP((distinct_stream.window_time) BY INTERVAL '5' SECOND);
