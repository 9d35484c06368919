-- fail: SQL_PLAN 3:12 aggregates cannot be nested in SUM
-- inputs: tolls
SELECT SUM(COUNT(*)) FROM tolls;
