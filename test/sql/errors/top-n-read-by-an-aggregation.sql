-- fail: SQL_PLAN 3:1 this aggregation reads the output of a Top-N outside windows, whose rows are updates
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT COUNT(*) AS n FROM (SELECT * FROM (SELECT plate, ROW_NUMBER() OVER (PARTITION BY plate ORDER BY amount_cents DESC) AS rn FROM tolls) WHERE rn <= 3);
