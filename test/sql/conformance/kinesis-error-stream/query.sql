-- Kinesis Data Analytics for SQL Applications Developer Guide, Error Handling, and Example: Exploring the
-- In-Application Error Stream (the pump that divides price by zero over the stock ticker stream):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/error-handling.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/app-explore-error-stream.html
-- The guide lists the runtime errors that go to error_stream: a record that does not conform to the input
-- schema, a division by zero, data that cannot be converted to the column's type (text for a number, a
-- number beyond INTEGER's 32 bits, the range the SQL reference's Data Types page gives), and rows out of
-- ROWTIME order. Each error row has ERROR_TIME, ERROR_LEVEL, ERROR_NAME, MESSAGE, DATA_ROW and PUMP_NAME; the good
-- rows still flow. ROWTIME here is set by the engine and never written by a pump (that is refused when the
-- SQL is planned: test/sql/errors/rowtime-written-by-a-pump.sql), so rows cannot go out of its order. The
-- pages show no rows: the rows are our own, and the error names and messages are ours.
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" (ticker_symbol VARCHAR(4), sector VARCHAR(16), change REAL, price REAL, volume INTEGER);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(4), sector VARCHAR(16), change REAL, price_per_change REAL);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker_symbol, sector, change, price / change
  FROM "SOURCE_SQL_STREAM_001"
  WHERE sector SIMILAR TO '%TECH%';

CREATE OR REPLACE STREAM "PROBLEM_STREAM" (ticker_symbol VARCHAR(4), ProblemColumn REAL);
CREATE OR REPLACE PUMP "PROBLEM_PUMP" AS INSERT INTO "PROBLEM_STREAM"
  SELECT STREAM ticker_symbol, (price / 0) AS ProblemColumn
  FROM "SOURCE_SQL_STREAM_001"
  WHERE ticker_symbol = 'AAA';
