-- Kinesis Data Analytics SQL Reference, Numeric Functions: EXP, LN, LOG10 (and CEIL / CEILING, FLOOR, POWER):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-numeric-functions.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-exp.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-ln.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-log10.html
-- The rows are our own. A logarithm of 0 or less has no value: that row goes to the error stream.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (x DOUBLE, e DOUBLE, ln_x DOUBLE, log10_x DOUBLE, ceil_x DOUBLE, floor_x DOUBLE, p DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM x, EXP(x), LN(x), LOG10(x), CEILING(x), FLOOR(x), POWER(x, 2)
  FROM "SOURCE_SQL_STREAM_001";
