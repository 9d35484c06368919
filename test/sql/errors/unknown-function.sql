-- fail: SQL_PLAN 3:8 unknown function TOTALLY_MADE_UP
-- inputs: tolls
SELECT TOTALLY_MADE_UP(plate) FROM tolls;
