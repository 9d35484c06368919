-- Kinesis Data Analytics SQL Reference, Char To Timestamp(Sys):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-char-to-timestamp.html
-- The page's input '2009-09-16 03:15:24': read whole with 'yyyy-MM-dd hh:mm:ss', and with 'yyyy-MM-dd' only
-- the date is kept (hours, minutes and seconds 0); with 'yyyy-MM' the day is 01.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (full_ts TIMESTAMP, date_only TIMESTAMP, month_only TIMESTAMP);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM
  CHAR_TO_TIMESTAMP('yyyy-MM-dd hh:mm:ss', '2009-09-16 03:15:24'),
  CHAR_TO_TIMESTAMP('yyyy-MM-dd', '2009-09-16 03:15:24'),
  CHAR_TO_TIMESTAMP('yyyy-MM', '2009-09-16 03:15:24')
FROM "SOURCE_SQL_STREAM_001";
