-- fail: SQL_PLAN 2:15 VALUES rows have 2 column(s) but 3 name(s) are given
SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(id, name, extra);
