-- fail: SQL_PLAN 3:85 ROW_NUMBER() ordered by amount_cents DESC outside a window is a Top-N: it needs WHERE rownum <= N
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, rn FROM (SELECT plate, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY amount_cents DESC) AS rn FROM tolls);
