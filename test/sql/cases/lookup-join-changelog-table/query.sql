-- A changelog reference table ('kind' = 'table'): the last record per key wins, `_deleted: true` removes the
-- key. The file runner loads it fully before any fact row is joined.
CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT) WITH ('stream' = 'tolls');
CREATE TABLE stations (plaza_id INT, name VARCHAR(32), surcharge_cents BIGINT)
  WITH ('kind' = 'table', 'key' = 'plaza_id', 'format' = 'json', 'path' = 'stations.changelog.json');
CREATE TABLE priced (plate VARCHAR(16), station VARCHAR(32), total_cents BIGINT) WITH ('stream' = 'priced');

INSERT INTO priced
SELECT t.plate, s.name, t.amount_cents + s.surcharge_cents
FROM tolls AS t LEFT JOIN stations AS s ON t.plaza_id = s.plaza_id;
