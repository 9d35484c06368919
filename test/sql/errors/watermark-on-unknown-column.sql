-- fail: SQL_PLAN 2:40 WATERMARK FOR names "ts", which is not a column of tolls
CREATE TABLE tolls (plate VARCHAR(16), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('stream' = 'tolls');
SELECT plate FROM tolls;
