-- fail: SQL_PLAN 3:81 ROW_NUMBER outside a window must order by a time attribute ascending first
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate FROM (SELECT plate, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY event_time DESC) AS rn FROM tolls) WHERE rn = 1;
