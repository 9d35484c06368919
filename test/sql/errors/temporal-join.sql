-- fail: SQL_SYNTAX 3:38 temporal joins (FOR SYSTEM_TIME AS OF) are not supported yet
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT * FROM tolls AS t JOIN plazas FOR SYSTEM_TIME AS OF t.event_time AS p ON t.plate = p.plate;
