-- fail: SQL_PLAN 3:15 LISTAGG is not supported in SESSION windows
CREATE TABLE tolls (plaza VARCHAR(8), plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plaza, LISTAGG(plate) FROM TABLE(SESSION(TABLE tolls PARTITION BY plaza, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, plaza;
