-- Kinesis Data Analytics SQL Reference, STEP, the examples with an integer argument:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-step.html
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (a BIGINT, b BIGINT);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM STEP(23 BY 5), STEP(30 BY 10) FROM "SOURCE_SQL_STREAM_001";
