-- fail: SQL_PLAN 4:25 WHERE NOT EXISTS (SELECT * FROM r WHERE r.k = s.k AND r.ts BETWEEN s.ts - INTERVAL '1' MINUTE AND s.ts + INTERVAL '1' MINUTE) (ts the WATERMARK column)
-- The hint names the form that runs: test/sql/cases/except-stream-as-bounded-not-exists runs it.
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls EXCEPT SELECT plate FROM tolls WHERE amount_cents > 100;
