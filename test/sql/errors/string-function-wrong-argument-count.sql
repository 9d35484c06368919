-- fail: SQL_PLAN 3:15 TRANSLATE takes 3 argument(s), got 2
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3)) WITH ('stream' = 'tolls');
SELECT plate, TRANSLATE(plate, 'A') FROM tolls;
