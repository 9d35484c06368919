-- fail: SQL_SYNTAX 2:1 VALUES as a statement is not supported yet
VALUES (1, 'a'), (2, 'b');
