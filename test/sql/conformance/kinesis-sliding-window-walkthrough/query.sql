-- Kinesis Data Analytics Developer Guide, Sliding Windows (the walk-through of a 5-second window):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/sliding-window-concepts.html
-- Records arrive at t1, t2, t6, t7 and three at t8 (seconds). The page's counts: 1 at t1, 2 at t2, 2 at t6
-- (the record of t1, 5 s old, has left the window), 2 at t7 (t2 has left), 5 after the three records of t8.
-- Each record is counted when it arrives, so the three of t8 give 3, 4 and 5.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (t INTEGER, record_count INTEGER);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM "t", COUNT(*) OVER W1
FROM "SOURCE_SQL_STREAM_001"
WINDOW W1 AS (RANGE INTERVAL '5' SECOND PRECEDING);
