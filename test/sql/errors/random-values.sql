-- fail: SQL_PLAN 3:15 RAND_INTEGER is not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, RAND_INTEGER(100) AS sample FROM tolls;
