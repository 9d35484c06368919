-- fail: SQL_PLAN 3:27 JSON_EXISTS's argument 1 must be text, this is BIGINT
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3)) WITH ('stream' = 'tolls');
SELECT plate, JSON_EXISTS(amount_cents, '$.a') FROM tolls;
