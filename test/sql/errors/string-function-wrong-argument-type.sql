-- fail: SQL_PLAN 3:28 REGEXP_COUNT's argument 1 must be text, this is BIGINT
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3)) WITH ('stream' = 'tolls');
SELECT plate, REGEXP_COUNT(amount_cents, '0') FROM tolls;
