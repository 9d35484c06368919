-- fail: SQL_PLAN 5:19 unknown column "amount"
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT) WITH ('stream' = 'tolls');
CREATE TABLE out1 (plate VARCHAR(16), amount BIGINT) WITH ('stream' = 'out1');
INSERT INTO out1
SELECT plate, SUM(amount) FROM tolls GROUP BY plate;
