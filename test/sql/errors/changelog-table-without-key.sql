-- fail: SQL_PLAN 4:1 has 'kind' = 'table' but no 'key'
-- inputs: tolls
CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT) WITH ('stream' = 'tolls');
CREATE TABLE stations (plaza_id INT, name VARCHAR(32)) WITH ('stream' = 'station_reference', 'kind' = 'table');
SELECT t.plate, s.name FROM tolls t JOIN stations s ON t.plaza_id = s.plaza_id;
