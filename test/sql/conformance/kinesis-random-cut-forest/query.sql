-- Kinesis Data Analytics Developer Guide, "Example: Detect data anomalies on a stream (RANDOM_CUT_FOREST
-- function)": heart rates with a few injected out-of-range readings, scored by RANDOM_CUT_FOREST; and the
-- SQL Reference's RANDOM_CUT_FOREST page (its syntax, with every parameter given):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/app-anomaly-detection.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sqlrf-random-cut-forest.html
-- The guide's rows come from a generator script and its scores are the service's own: the rows are our own
-- (a periodic heart rate with three injected readings, rateType HIGH or LOW), and the scores here are not the
-- service's numbers. The case checks the documented property instead of the numbers: the injected readings,
-- and only they, score well above the rest (every other row scores below 1.8 here, they above 3.5).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "rateType" VARCHAR(20));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "heartRate", "rateType"
  FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 30, 48, 1000, 1))
  WHERE ANOMALY_SCORE > 2.5;
