-- Kinesis Data Analytics SQL Reference, INITCAP, the examples table:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-initcap.html
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (r VARCHAR(64));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM INITCAP('Each FIRST lEtTeR is cAPITALIZED') FROM "SOURCE_SQL_STREAM_001";
