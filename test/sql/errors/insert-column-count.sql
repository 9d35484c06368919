-- fail: SQL_PLAN 5:1 the query gives 1 column(s) but out1 takes 2 (plate, total)
-- inputs: tolls
CREATE TABLE out1 (plate VARCHAR(16), total BIGINT) WITH ('stream' = 'out1');
INSERT INTO out1
SELECT plate FROM tolls;
