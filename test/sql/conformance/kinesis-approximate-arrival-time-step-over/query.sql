-- Kinesis Data Analytics SQL Reference, STEP, "STEP in an OVER clause (sliding window)": a running count per
-- ticker and 10-second step of the time records reached the stream, over the last 10 seconds of ROWTIME:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-step.html
-- The page shows its rows only as a picture: the records, their arrival times (`_approximate_arrival_time`,
-- and `_arrival_time` for ROWTIME) and the rows are our own. The third AMZN record reached the stream in the
-- next 10-second step, so its count starts again; the last one is read more than 10 s after the one before.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    ingest_time TIMESTAMP,
    ticker_symbol VARCHAR(4),
    ticker_symbol_count integer);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM STEP(source_sql_stream_001.approximate_arrival_time BY INTERVAL '10' SECOND) as ingest_time,
    ticker_symbol,
   count(*) over w1 as ticker_symbol_count
FROM source_sql_stream_001
WINDOW w1 AS (
    PARTITION BY ticker_symbol,
       STEP(source_sql_stream_001.approximate_arrival_time BY INTERVAL '10' SECOND)
   RANGE INTERVAL '10' SECOND PRECEDING);
