-- Kinesis Data Analytics Developer Guide, "Example: Detecting Data Anomalies on a Stream (RANDOM_CUT_FOREST
-- Function)": heart rates from its generator's two kinds (NORMAL, 60 to 100; HIGH, 150 to 200, rare), scored by
-- RANDOM_CUT_FOREST; and the SQL Reference's RANDOM_CUT_FOREST page (its syntax, every parameter given):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/app-anom-score-create-app.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sqlrf-random-cut-forest.html
-- The guide's rows are random and its scores are the service's own, shown as a picture: the rows are our own
-- (167 NORMAL readings, 3 HIGH ones), and the scores here are not the service's numbers. The guide writes
-- every score and sorts them per second (ORDER BY FLOOR(ROWTIME TO SECOND), ANOMALY_SCORE DESC); this case
-- checks the property the guide shows instead: the HIGH readings, and only they, score well above the rest
-- (every NORMAL reading scores below 1.5 here, the HIGH ones above 3). The parameters are given so that scores
-- start after 48 rows rather than the default 256.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("heartRate" INTEGER, "rateType" VARCHAR(20));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM "heartRate", "rateType"
  FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 30, 48, 1000, 1))
  WHERE ANOMALY_SCORE > 2.2;
