-- fail: SQL_PLAN 7:69 the watermark does not follow
-- inputs: SOURCE_SQL_STREAM_001
-- Without a WATERMARK on event_time, a row of an earlier event_time can come at any time: its count would
-- depend on how fast rows arrive.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("plate" VARCHAR(8), "n" BIGINT);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM "plate", COUNT(*) OVER (PARTITION BY "plate" ORDER BY "event_time" RANGE BETWEEN INTERVAL '90' SECOND PRECEDING AND CURRENT ROW)
FROM "SOURCE_SQL_STREAM_001";
