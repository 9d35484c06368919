-- fail: SQL_PLAN 3:34 ORDER BY on a stream must order by a time attribute ascending first
-- inputs: tolls
SELECT plate FROM tolls ORDER BY plate;
