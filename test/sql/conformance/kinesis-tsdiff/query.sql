-- Kinesis Data Analytics SQL Reference, TSDIFF:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-tsdiff.html
-- The page gives TSDIFF(startTime, endTime) over BIGINT milliseconds since the epoch, "the difference between
-- the two timestamps in milliseconds", and NULL when an argument is NULL; it shows no example. We read the
-- difference as the time from startTime to endTime (endTime - startTime). The rows are our own.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (order_id VARCHAR(8), wait_ms BIGINT, since_arrival_ms BIGINT);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM order_id, TSDIFF(placed_ms, shipped_ms), TSDIFF(UNIX_TIMESTAMP(placed_at), UNIX_TIMESTAMP("SOURCE_SQL_STREAM_001".ROWTIME))
  FROM "SOURCE_SQL_STREAM_001";
