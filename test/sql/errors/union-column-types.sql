-- fail: SQL_PLAN 3:47 UNION ALL: column 1 (plate) is VARCHAR in the first SELECT but BIGINT in this one
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, event_time FROM tolls UNION ALL SELECT amount_cents, event_time FROM tolls;
