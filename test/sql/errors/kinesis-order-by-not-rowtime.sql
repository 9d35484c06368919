-- fail: SQL_PLAN 4:108 ORDER BY on a stream must order by ROWTIME or a monotonic function of it ascending first
-- inputs: tolls
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (plate VARCHAR(16));
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM plate FROM tolls ORDER BY plate;
