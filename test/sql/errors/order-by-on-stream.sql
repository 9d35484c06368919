-- fail: SQL_SYNTAX 3:25 ORDER is not supported on a stream
-- inputs: tolls
SELECT plate FROM tolls ORDER BY plate;
