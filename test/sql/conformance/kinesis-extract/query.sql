-- Kinesis Data Analytics SQL Reference, EXTRACT, the examples table:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-extract.html
-- SECOND comes with its milliseconds (DECIMAL(5,3)); the other fields are BIGINT. CURRENT_ROW_TIMESTAMP of
-- the page is the column "ts" here, holding the page's 2016-09-23 04:29:26.234.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (d BIGINT, h BIGINT, m BIGINT, s DOUBLE, ts_minute BIGINT, ts_hour BIGINT, ts_second DOUBLE);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM
  EXTRACT(DAY FROM INTERVAL '2 3:4:5.678' DAY TO SECOND),
  EXTRACT(HOUR FROM INTERVAL '2 3:4:5.678' DAY TO SECOND),
  EXTRACT(MINUTE FROM INTERVAL '2 3:4:5.678' DAY TO SECOND),
  EXTRACT(SECOND FROM INTERVAL '2 3:4:5.678' DAY TO SECOND),
  EXTRACT(MINUTE FROM "ts"),
  EXTRACT (HOUR FROM "ts"),
  EXTRACT(SECOND FROM "ts")
FROM "SOURCE_SQL_STREAM_001";
