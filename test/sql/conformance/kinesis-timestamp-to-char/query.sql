-- Kinesis Data Analytics SQL Reference, TIMESTAMP_TO_CHAR:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-timestamp-to-char.html
-- The page gives the form TIMESTAMP_TO_CHAR(format, ts) and says a NULL input gives the text 'null'; the
-- rows are our own.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (formatted VARCHAR(32));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM TIMESTAMP_TO_CHAR('yyyy-MM-dd hh:mm:ss a', "ts") FROM "SOURCE_SQL_STREAM_001";
