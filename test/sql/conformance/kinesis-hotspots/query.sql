-- Kinesis Data Analytics Developer Guide, "Example: Detecting Hotspots on a Stream (HOTSPOTS Function)",
-- Step 2, the application's SQL as given; and the SQL Reference's HOTSPOTS page (syntax and parameters):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/app-hotspot-create-app.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sqlrf-hotspots.html
-- The guide's rows come from a random generator and its results are shown as a picture: the rows are our own
-- (test/sql/stream-models.test.ts runs the guide's generator itself).
-- Every third row (is_hot 'Y') falls in a 0.1 by 0.075 square at (5, 5), the others are spread over the
-- plane, no two within 0.2. The documented properties checked: no hotspot until 17 points lie within the scan
-- radius of each other (the 17th dense row, the 51st row); from then on one hotspot whose bounding box is
-- the dense points' (is_hot is not numeric and is not read). The density is this engine's measure (the
-- hotspot's share of the window's points over its share of the window's bounding box, each side counted at
-- least as long as the scan radius), not the service's number.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  "x" DOUBLE,
  "y" DOUBLE,
  "is_hot" VARCHAR(4),
  HOTSPOTS_RESULT VARCHAR(10000)
);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS
  INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT "x", "y", "is_hot", "HOTSPOTS_RESULT" FROM TABLE (
    HOTSPOTS(
      CURSOR(SELECT STREAM "x", "y", "is_hot" FROM "SOURCE_SQL_STREAM_001"),
      1000,
      0.2,
      17
    )
  );
