-- ABC Tolls, Kinesis Data Analytics style: spend per customer per 10-minute STEP window on ROWTIME.
-- ROWTIME comes from each record's _arrival_time.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  "customer_id" VARCHAR(16),
  "window_start" TIMESTAMP,
  "trips" INTEGER,
  "total_cents" BIGINT
);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "customer_id",
         STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' MINUTE) AS "window_start",
         COUNT(*) AS "trips",
         SUM("amount_cents") AS "total_cents"
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "customer_id", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' MINUTE);
