-- Kinesis Data Analytics Developer Guide, Example: Tumbling Window Using ROWTIME: MIN and MAX price per ticker
-- per 60-second window of ROWTIME:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/examples-window-tumbling-rowtime.html
-- The first four records are the page's, with arrival times of our own (the page gives none); the last three,
-- in the next minute, are our own. The page shows its result only as a picture: the rows are our own reading.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (TICKER VARCHAR(4), MIN_PRICE REAL, MAX_PRICE REAL);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM TICKER, MIN(PRICE), MAX(PRICE)
        FROM "SOURCE_SQL_STREAM_001"
        GROUP BY TICKER,
            STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '60' SECOND);
