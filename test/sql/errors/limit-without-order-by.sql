-- fail: SQL_PLAN 3:1 LIMIT on a stream needs ORDER BY a time attribute
-- inputs: tolls
SELECT plate FROM tolls LIMIT 5;
