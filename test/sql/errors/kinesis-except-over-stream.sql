-- fail: SQL_PLAN 7:32 WHERE NOT EXISTS (SELECT * FROM r WHERE r.k = s.k AND r.ROWTIME BETWEEN s.ROWTIME - INTERVAL '1' MINUTE AND s.ROWTIME + INTERVAL '1' MINUTE)
-- inputs: tolls
-- The SQL Reference's Query page applies UNION ALL alone to streams; the hint names the form that runs
-- (test/sql/cases/kinesis-except-stream-as-bounded-not-exists runs it).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (plate VARCHAR(16));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM plate FROM tolls EXCEPT SELECT STREAM plate FROM tolls WHERE amount_cents > 100;
