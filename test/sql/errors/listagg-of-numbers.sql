-- fail: SQL_PLAN 3:23 LISTAGG joins texts, this is BIGINT
CREATE TABLE tolls (plaza VARCHAR(8), plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plaza, LISTAGG(amount_cents) FROM tolls GROUP BY plaza;
