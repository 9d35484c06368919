-- fail: SQL_PLAN 3:41 a join of two streams needs a time bound
-- inputs: a, b
SELECT a.plate FROM a JOIN b ON a.plate = b.plate;
