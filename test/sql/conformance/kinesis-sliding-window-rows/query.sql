-- Kinesis Data Analytics Developer Guide, Sliding Windows, example 3 (two row-based windows on one stream):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/sliding-window-concepts.html
-- The page runs it on the demo stock stream and shows no output: the rows here are our own. ROWS n PRECEDING
-- holds the current row and the n before it of its partition.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
                           ticker_symbol      VARCHAR(12),
                           price              double,
                           average_last2rows  double,
                           average_last10rows double);

CREATE OR REPLACE PUMP "myPump" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM ticker_symbol,
              price,
              avg(price) over last2rows,
              avg(price) over last10rows
FROM SOURCE_SQL_STREAM_001
WINDOW
    last2rows AS (PARTITION BY ticker_symbol ROWS 2 PRECEDING),
    last10rows AS (PARTITION BY ticker_symbol ROWS 10 PRECEDING);
