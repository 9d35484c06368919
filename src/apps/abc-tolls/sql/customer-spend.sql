-- ABC Tolls: spend per customer, per month and day of event time, per window of PROCESSING time.
--
-- The window is a STEP over ROWTIME (the arrival time in toll_transactions_valid), so a window closes as soon
-- as a record arrives after its end, and a late toll is never a late row: it counts in the window it arrived
-- in, under the month and day of its own event time. Months and days are cut in the deployment's time zone.
--
-- Parameters, filled in by spend-query.ts as SQL string literals: WINDOW_SECONDS (an integer) and TIME_ZONE
-- (an IANA zone name). Records without a customer_id (the window closer's heartbeats) only move ROWTIME.
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" (
  "customer_id" VARCHAR(200),
  "amount_cents" BIGINT,
  "event_time" TIMESTAMP
);

CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  "window_start" TIMESTAMP,
  "window_end" TIMESTAMP,
  "customer_id" VARCHAR(200),
  "month" VARCHAR(7),
  "day" VARCHAR(10),
  "total_cents" BIGINT,
  "transactions" BIGINT
);

CREATE OR REPLACE PUMP "CUSTOMER_SPEND_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM
    STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL {{WINDOW_SECONDS}} SECOND) AS "window_start",
    STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL {{WINDOW_SECONDS}} SECOND) + INTERVAL {{WINDOW_SECONDS}} SECOND AS "window_end",
    "customer_id",
    SUBSTRING(DATE_FORMAT(CONVERT_TZ("event_time", 'UTC', {{TIME_ZONE}}), 'yyyy-MM-dd'), 1, 7) AS "month",
    DATE_FORMAT(CONVERT_TZ("event_time", 'UTC', {{TIME_ZONE}}), 'yyyy-MM-dd') AS "day",
    SUM("amount_cents") AS "total_cents",
    COUNT(*) AS "transactions"
  FROM "SOURCE_SQL_STREAM_001"
  WHERE "customer_id" IS NOT NULL
  GROUP BY "customer_id",
    DATE_FORMAT(CONVERT_TZ("event_time", 'UTC', {{TIME_ZONE}}), 'yyyy-MM-dd'),
    STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL {{WINDOW_SECONDS}} SECOND);
