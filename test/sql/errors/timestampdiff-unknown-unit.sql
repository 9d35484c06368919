-- fail: SQL_SYNTAX 3:29 expected a time unit but found 'FORTNIGHT'
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3)) WITH ('stream' = 'tolls');
SELECT plate, TIMESTAMPDIFF(FORTNIGHT, event_time, event_time) FROM tolls;
