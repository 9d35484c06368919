-- fail: SQL_PLAN 3:35 UNION ALL: the first SELECT gives 1 column(s), this one 2
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM tolls UNION ALL SELECT plate, amount_cents FROM tolls;
