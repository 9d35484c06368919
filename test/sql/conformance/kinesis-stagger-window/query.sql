-- Kinesis Data Analytics Developer Guide, Example: Stagger Window: six records per ticker with one EVENT_TIME,
-- arriving ten seconds apart over one minute, counted in a stagger window partitioned by TICKER and EVENT_TIME:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/examples-window-stagger.html
-- The records and their arrival times (ROWTIME) are the page's; it shows the result only as a picture, so the
-- rows are our own reading: each window opens at its first record and closes a minute later, so it holds all
-- six records of its ticker. The guide changes EVENT_TIME to TIMESTAMP in the console: declared here.
-- Timestamps keep milliseconds, rounded (20:17:20.797945 is 20:17:20.798).
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" (EVENT_TIME TIMESTAMP, TICKER VARCHAR(4));

CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    event_time TIMESTAMP,
    ticker_symbol    VARCHAR(4),
    ticker_count     INTEGER);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM
        EVENT_TIME,
        TICKER,
        COUNT(TICKER) AS ticker_count
    FROM "SOURCE_SQL_STREAM_001"
    WINDOWED BY STAGGER (
            PARTITION BY TICKER, EVENT_TIME RANGE INTERVAL '1' MINUTE);
