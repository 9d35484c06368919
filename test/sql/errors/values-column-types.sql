-- fail: SQL_PLAN 2:37 VALUES column 2 is VARCHAR in one row and BIGINT in another
SELECT * FROM (VALUES (1, 'a'), (2, 3)) AS t(id, name);
