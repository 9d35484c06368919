-- Kinesis Data Analytics SQL Reference, Datetime Conversion Functions and Date and Time Functions:
-- CHAR_TO_DATE, CHAR_TO_TIME, DATE_TO_CHAR, TIME_TO_CHAR, CURRENT_DATE, LOCALTIME, CURRENT_ROW_TIMESTAMP:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-char-to-date.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-char-to-time.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-date-to-char.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-time-to-char.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-date-time-functions.html
-- The pages give the forms CHAR_TO_DATE(format, text) and DATE_TO_CHAR(format, d) and show no rows: the rows
-- are our own. There is no DATE or TIME type here: a date is a TIMESTAMP at midnight UTC, a time of day a
-- TIMESTAMP on 1970-01-01. The clock of the test is fixed at 2026-01-01T00:00:00Z.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  d TIMESTAMP, t TIMESTAMP, d_text VARCHAR(16), t_text VARCHAR(16), today TIMESTAMP, now_time TIMESTAMP, row_time TIMESTAMP);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM CHAR_TO_DATE('dd/MM/yyyy', day_text), CHAR_TO_TIME('HH:mm:ss', time_text),
    DATE_TO_CHAR('yyyy.MM.dd', CHAR_TO_DATE('dd/MM/yyyy', day_text)), TIME_TO_CHAR('hh:mm a', CHAR_TO_TIME('HH:mm:ss', time_text)),
    CURRENT_DATE, LOCALTIME, CURRENT_ROW_TIMESTAMP
  FROM "SOURCE_SQL_STREAM_001";
