-- fail: SQL_SYNTAX 3:39 unterminated string literal
-- inputs: tolls
SELECT plate FROM tolls WHERE plate = 'AB-1;
