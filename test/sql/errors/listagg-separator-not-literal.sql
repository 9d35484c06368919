-- fail: SQL_PLAN 3:30 LISTAGG's separator must be text written as it is
CREATE TABLE tolls (plaza VARCHAR(8), plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plaza, LISTAGG(plate, plaza) FROM tolls GROUP BY plaza;
