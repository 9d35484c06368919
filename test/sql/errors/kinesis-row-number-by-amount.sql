-- fail: SQL_PLAN 4:180 ROW_NUMBER outside a window must order by ROWTIME or a monotonic function of it ascending first
-- inputs: tolls
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (plate VARCHAR(16), rn BIGINT);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM" SELECT STREAM plate, rn FROM (SELECT STREAM plate, amount_cents, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY amount_cents DESC) AS rn FROM tolls) WHERE rn <= 3;
