-- Kinesis Data Analytics Developer Guide, Example: Transforming String Values, String Manipulation (SUBSTRING
-- Function): the company name cut out of a referrer URL, with the time each record reached the stream:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/examples-transforming-strings-substring.html
-- The records are the page's; their arrival times (`_approximate_arrival_time`, and `_arrival_time` for
-- ROWTIME) are our own. The page shows the result only as a picture: the rows are our own reading.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    "ingest_time" TIMESTAMP,
    "referrer" VARCHAR(32));

CREATE OR REPLACE PUMP "myPUMP" AS
   INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM
         "APPROXIMATE_ARRIVAL_TIME",
         SUBSTRING("referrer", 12, (POSITION('.com' IN "referrer") - POSITION('www.' IN "referrer") - 4))
      FROM "SOURCE_SQL_STREAM_001";
