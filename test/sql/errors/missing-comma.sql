-- fail: SQL_SYNTAX 3:3 expected an expression but found FROM
SELECT plate,
  FROM tolls;
