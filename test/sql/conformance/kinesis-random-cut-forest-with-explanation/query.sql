-- Kinesis Data Analytics Developer Guide, "Example: Detecting Data Anomalies and Getting an Explanation
-- (RANDOM_CUT_FOREST_WITH_EXPLANATION Function)": blood pressure readings of its generator's three kinds
-- (NORMAL systolic 90 to 120 and diastolic 60 to 80; HIGH 130 to 200 and 90 to 150; LOW 50 to 80 and 30 to
-- 50), scored and explained by RANDOM_CUT_FOREST_WITH_EXPLANATION with directionality:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/app-anom-with-exp-create-app.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/examine-results-with-exp.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sqlrf-random-cut-forest-with-explanation.html
-- The guide's rows are random: the rows are our own (168 NORMAL readings, one HIGH, one LOW), and the numbers
-- are not the service's. The guide writes every row with its score and explanation; this case checks what
-- the guide reads from them instead: the HIGH and LOW readings, and only they, score well above the rest
-- (every NORMAL reading below 1.3 here, the two above 3), and the explanation says both columns are HIGH
-- for the HIGH reading and LOW for the LOW one. The guide passes 100, 256, 100000, 1, true; a smaller forest
-- and sample are given here so that scores start after 48 rows.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  "BloodPressureLevel" VARCHAR(20),
  "SystolicHigh"       BOOLEAN,
  "DiastolicHigh"      BOOLEAN);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "BloodPressureLevel",
    ANOMALY_EXPLANATION LIKE '%"Systolic":{"DIRECTION":"HIGH"%',
    ANOMALY_EXPLANATION LIKE '%"Diastolic":{"DIRECTION":"HIGH"%'
  FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(
    CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 30, 48, 1000, 1, true))
  WHERE ANOMALY_SCORE > 2.0;
