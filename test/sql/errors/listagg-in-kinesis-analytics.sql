-- fail: SQL_PLAN 3:22 unknown function LISTAGG
-- inputs: tolls
SELECT STREAM plate, LISTAGG(plate) FROM tolls GROUP BY plate, STEP(tolls.ROWTIME BY INTERVAL '1' MINUTE);
