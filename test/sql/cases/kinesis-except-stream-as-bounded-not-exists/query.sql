-- The Kinesis Analytics form the error for EXCEPT over a stream names: tolls of a plate with no toll over 100
-- cents within a minute of ROWTIME either side. The rows and the reading are those of
-- except-stream-as-bounded-not-exists, with the event times as arrival times.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (plate VARCHAR(16), amount_cents INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM plate, amount_cents FROM tolls s WHERE NOT EXISTS (
  SELECT * FROM tolls r
  WHERE r.plate = s.plate AND r.amount_cents > 100
    AND r.ROWTIME BETWEEN s.ROWTIME - INTERVAL '1' MINUTE AND s.ROWTIME + INTERVAL '1' MINUTE);
