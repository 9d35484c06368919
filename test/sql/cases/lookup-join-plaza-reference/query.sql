-- Stream-to-table join: each passage picks up its plaza's name and road from reference data (CSV).
CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT) WITH ('stream' = 'tolls');
CREATE TABLE plazas (plaza_id INT, name VARCHAR(32), road VARCHAR(8), max_cents BIGINT) WITH ('format' = 'csv', 'path' = 'plazas.csv');
CREATE TABLE named (plate VARCHAR(16), plaza VARCHAR(32), road VARCHAR(8), amount_cents BIGINT) WITH ('stream' = 'named');
CREATE TABLE suspicious (plate VARCHAR(16), plaza VARCHAR(32)) WITH ('stream' = 'suspicious');

INSERT INTO named
SELECT t.plate, p.name, p.road, t.amount_cents
FROM tolls AS t LEFT JOIN plazas AS p ON t.plaza_id = p.plaza_id;

INSERT INTO suspicious
SELECT t.plate, p.name
FROM tolls t JOIN plazas p ON p.plaza_id = t.plaza_id AND t.amount_cents > p.max_cents;
