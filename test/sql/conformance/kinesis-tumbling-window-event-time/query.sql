-- Kinesis Data Analytics Developer Guide, Example: Tumbling Window Using an Event Timestamp: MIN and MAX price
-- per ticker, grouped by the minute of ROWTIME and the minute of EVENT_TIME:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/examples-window-tumbling-event.html
-- The first four records are the page's (their EVENT_TIME is 5 seconds before they arrive, as the page says);
-- the last two, whose event time lies in the minute before their arrival minute, are our own. The page shows
-- its result only as a picture: the rows are our own reading. The guide changes EVENT_TIME to TIMESTAMP in
-- the console: declared here.
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" (EVENT_TIME TIMESTAMP, TICKER VARCHAR(4), PRICE REAL);

CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (EVENT_TIME timestamp, TICKER VARCHAR(4), min_price REAL, max_price REAL);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM STEP("SOURCE_SQL_STREAM_001".EVENT_TIME BY INTERVAL '60' SECOND),
        TICKER,
         MIN(PRICE) AS MIN_PRICE,
         MAX(PRICE) AS MAX_PRICE
    FROM    "SOURCE_SQL_STREAM_001"
    GROUP BY TICKER,
             STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '60' SECOND),
             STEP("SOURCE_SQL_STREAM_001".EVENT_TIME BY INTERVAL '60' SECOND);
