-- IN and EXISTS subqueries over a reference table and over VALUES: a semi- or anti-join per row.
-- Plate D has no plaza (NULL): it is in no IN, and NOT EXISTS keeps it. A plate listed twice in VALUES
-- still passes once.
CREATE TABLE plazas (plaza_id VARCHAR(8), toll_cents BIGINT) WITH ('format' = 'csv', 'path' = 'plazas.csv');
CREATE TABLE tolls (plate VARCHAR(8), plaza_id VARCHAR(8), ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'tolls');
CREATE TABLE expensive (plate VARCHAR(8), plaza_id VARCHAR(8)) WITH ('stream' = 'expensive');
CREATE TABLE unknown_plaza (plate VARCHAR(8)) WITH ('stream' = 'unknown_plaza');
CREATE TABLE watched (plate VARCHAR(8), plaza_id VARCHAR(8)) WITH ('stream' = 'watched');

INSERT INTO expensive
SELECT plate, plaza_id FROM tolls WHERE plaza_id IN (SELECT plaza_id FROM plazas WHERE toll_cents > 100);

INSERT INTO unknown_plaza
SELECT plate FROM tolls t WHERE NOT EXISTS (SELECT 1 FROM plazas p WHERE p.plaza_id = t.plaza_id);

INSERT INTO watched
SELECT plate, plaza_id FROM tolls t
WHERE plate IN (SELECT w FROM (VALUES ('A'), ('C'), ('C'), ('E')) AS v(w))
  AND EXISTS (SELECT 1 FROM plazas p WHERE p.plaza_id = t.plaza_id AND p.toll_cents >= 50);
