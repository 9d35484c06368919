-- Kinesis Data Analytics Developer Guide, "Example: Detecting Data Anomalies on a Stream (RANDOM_CUT_FOREST
-- Function)", Step 2, the application's SQL whole: a first pump scores every reading into TEMP_STREAM, a
-- second sorts each second's rows by descending score (a streaming ORDER BY whose first key is FLOOR of
-- ROWTIME); and the SQL Reference's RANDOM_CUT_FOREST and ORDER BY pages:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/app-anom-score-create-app.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sqlrf-random-cut-forest.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-order-by-clause.html
-- The guide's rows come from its generator's two kinds (NORMAL, 60 to 100; HIGH, 150 to 200, rare) and its
-- scores are the service's own, shown as a picture: the rows are our own (167 NORMAL readings, 3 HIGH ones,
-- one a second), and the scores are this engine's, not the service's. What the guide reads from them holds
-- here: the HIGH readings, and only they, score well above the rest (every NORMAL reading below 1.5, the
-- HIGH ones above 3). The forest's parameters are given (the guide leaves the defaults) so that scores
-- start after 48 rows rather than 256; before that a row scores 0. The rows of each second leave sorted;
-- test/sql/streaming-order-by.test.ts checks the order with several rows a second.
CREATE OR REPLACE STREAM "TEMP_STREAM" (
	        "heartRate"        INTEGER,
	        "rateType"         varchar(20),
	        "ANOMALY_SCORE"    DOUBLE);
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
	        "heartRate"        INTEGER,
	        "rateType"         varchar(20),
	        "ANOMALY_SCORE"    DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
   INSERT INTO "TEMP_STREAM"
      SELECT STREAM "heartRate", "rateType", ANOMALY_SCORE
      FROM TABLE(RANDOM_CUT_FOREST(
              CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 30, 48, 1000, 1));
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS
   INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM * FROM "TEMP_STREAM"
      ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC;
