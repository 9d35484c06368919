-- fail: SQL_PLAN 3:52 cannot compare VARCHAR with BIGINT
-- inputs: tolls
SELECT plate FROM tolls WHERE plate = 'x' OR plate > 5;
