-- Kinesis Analytics stagger window: a plate's window opens with its first passage and closes a minute later.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("plate" VARCHAR(16), "event_minute" TIMESTAMP, "passages" INTEGER, "spend" BIGINT);

CREATE OR REPLACE PUMP "STAGGER_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "plate", FLOOR("event_time" TO MINUTE), COUNT(*), SUM("amount_cents")
  FROM "SOURCE_SQL_STREAM_001"
  WINDOWED BY STAGGER (PARTITION BY FLOOR("event_time" TO MINUTE), "plate" RANGE INTERVAL '1' MINUTE);
