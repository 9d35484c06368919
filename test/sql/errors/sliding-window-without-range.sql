-- fail: SQL_PLAN 3:38 a sliding window needs a time range
-- inputs: tolls
SELECT plate, SUM(amount_cents) OVER (PARTITION BY plate) FROM tolls;
