-- fail: SQL_PLAN 4:76 plazas is a reference table, which a join looks up as it is when the row is processed
CREATE TABLE tolls (plate VARCHAR(16), plaza_id VARCHAR(8), event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
CREATE TABLE plazas (plaza_id VARCHAR(8), name VARCHAR(32)) WITH ('format' = 'csv', 'path' = 'plazas.csv');
SELECT t.plate, p.name FROM tolls AS t JOIN plazas FOR SYSTEM_TIME AS OF t.event_time AS p ON t.plaza_id = p.plaza_id;
