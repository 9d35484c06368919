-- fail: SQL_SYNTAX 3:49 JSON_VALUE cannot return TIMESTAMP(3)
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3)) WITH ('stream' = 'tolls');
SELECT plate, JSON_VALUE(plate, '$.a' RETURNING TIMESTAMP(3)) FROM tolls;
