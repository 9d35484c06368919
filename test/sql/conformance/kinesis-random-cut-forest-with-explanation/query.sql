-- Kinesis Data Analytics Developer Guide, "Example: Detecting Data Anomalies and Getting an Explanation
-- (RANDOM_CUT_FOREST_WITH_EXPLANATION Function)", Step 2, the application's SQL whole: a first pump scores
-- and explains every reading into TEMP_STREAM, a second sorts each second's rows by descending score (a
-- streaming ORDER BY whose first key is FLOOR of ROWTIME):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/app-anom-with-exp-create-app.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/examine-results-with-exp.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sqlrf-random-cut-forest-with-explanation.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-order-by-clause.html
-- The guide's rows come from its generator's three kinds (NORMAL systolic 90 to 120 and diastolic 60 to 80;
-- HIGH 130 to 200 and 90 to 150; LOW 50 to 80 and 30 to 50) and are random: the rows are our own (168
-- NORMAL readings, one HIGH, one LOW, one a second), and the numbers are this engine's, not the service's.
-- What the guide reads from them holds here: the HIGH and LOW readings, and only they, score well above
-- the rest (every NORMAL reading below 1.3, the two above 3), and the explanation says both columns are
-- HIGH for the HIGH reading and LOW for the LOW one. The guide passes 100, 256, 100000, 1, true; a smaller
-- forest and sample are given here so that scores start after 48 rows (before that a row scores 0).
CREATE OR REPLACE STREAM "TEMP_STREAM" (
	        "Systolic"                  INTEGER,
	        "Diastolic"                 INTEGER,
	        "BloodPressureLevel"        varchar(20),
	        "ANOMALY_SCORE"             DOUBLE,
	        "ANOMALY_EXPLANATION"       varchar(512));
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
	        "Systolic"                  INTEGER,
	        "Diastolic"                 INTEGER,
	        "BloodPressureLevel"        varchar(20),
	        "ANOMALY_SCORE"             DOUBLE,
	        "ANOMALY_EXPLANATION"       varchar(512));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
   INSERT INTO "TEMP_STREAM"
      SELECT STREAM "Systolic", "Diastolic", "BloodPressureLevel", ANOMALY_SCORE, ANOMALY_EXPLANATION
      FROM TABLE(RANDOM_CUT_FOREST_WITH_EXPLANATION(
              CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"), 30, 48, 1000, 1, true));
CREATE OR REPLACE PUMP "OUTPUT_PUMP" AS
   INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM * FROM "TEMP_STREAM"
      ORDER BY FLOOR("TEMP_STREAM".ROWTIME TO SECOND), ANOMALY_SCORE DESC;
