-- fail: SQL_PLAN 5:88 ORDER BY event_time outside a window: the watermark does not follow event_time
-- inputs: tolls
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (plate VARCHAR(16), event_time TIMESTAMP);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM plate, CAST(event_time AS TIMESTAMP) AS event_time FROM tolls ORDER BY event_time, plate;
