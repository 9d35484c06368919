-- fail: SQL_PLAN 3:48 ORDER BY on a stream orders by the query's output columns, and event_time is not one
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, amount_cents FROM tolls ORDER BY event_time LIMIT 3;
