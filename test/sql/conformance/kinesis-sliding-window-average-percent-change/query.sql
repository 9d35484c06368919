-- Kinesis Data Analytics Developer Guide, Sliding Windows, example 2 (a query applying aggregates on a
-- sliding window): https://docs.aws.amazon.com/kinesisanalytics/latest/dev/sliding-window-concepts.html
-- The page runs it on the demo stock stream, whose rows it does not list: the rows here are our own, with
-- prices and changes written as 1.0, 5.0: the input is not declared, and its columns must be inferred as
-- decimals, not integers (1.0 / 4.0 is 0.25, not 0).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
                            ticker_symbol VARCHAR(10),
                            Avg_Percent_Change double);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
   INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM Ticker_Symbol,
                    AVG(Change / (Price - Change)) over W1 as Avg_Percent_Change
      FROM "SOURCE_SQL_STREAM_001"
      WINDOW W1 AS (
              PARTITION BY ticker_symbol
              RANGE INTERVAL '10' SECOND PRECEDING);
