-- Kinesis Analytics pipeline of two pumps: the first keeps paid passages, the second counts them per
-- plaza per minute with FLOOR(ROWTIME TO MINUTE). ROWTIME is the event time here (no _arrival_time).
CREATE OR REPLACE STREAM "PAID_STREAM" ("plaza_id" INTEGER, "amount_cents" BIGINT);
CREATE OR REPLACE STREAM "PER_MINUTE_STREAM" ("plaza_id" INTEGER, "minute" TIMESTAMP, "passages" BIGINT, "revenue_cents" BIGINT);

CREATE OR REPLACE PUMP "PAID_PUMP" AS
  INSERT INTO "PAID_STREAM"
  SELECT STREAM "plaza_id", "amount_cents" FROM "SOURCE_SQL_STREAM_001" WHERE "amount_cents" > 0;

CREATE OR REPLACE PUMP "MINUTE_PUMP" AS
  INSERT INTO "PER_MINUTE_STREAM"
  SELECT STREAM "plaza_id", FLOOR("PAID_STREAM".ROWTIME TO MINUTE), COUNT(*), SUM("amount_cents")
  FROM "PAID_STREAM"
  GROUP BY "plaza_id", FLOOR("PAID_STREAM".ROWTIME TO MINUTE);
