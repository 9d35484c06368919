-- Kinesis Analytics sliding window: each passage with its plate's passages and spend over the last minute.
-- The row of 08:00:00 is exactly one minute older than the one of 08:01:00: Kinesis Analytics leaves it out of that row's window.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("plate" VARCHAR(16), "passages_1m" INTEGER, "spend_1m" BIGINT, "max_1m" BIGINT);

CREATE OR REPLACE PUMP "SLIDING_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "plate", COUNT(*) OVER W1, SUM("amount_cents") OVER W1, MAX("amount_cents") OVER (PARTITION BY "plate" RANGE INTERVAL '1' MINUTE PRECEDING)
  FROM "SOURCE_SQL_STREAM_001"
  WINDOW W1 AS (PARTITION BY "plate" RANGE INTERVAL '1' MINUTE PRECEDING);
