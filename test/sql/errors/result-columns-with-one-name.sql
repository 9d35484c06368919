-- fail: SQL_PLAN 3:20 the result has two columns named "x"
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT) WITH ('stream' = 'tolls');
SELECT plate AS x, amount_cents AS x FROM tolls;
