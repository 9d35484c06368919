-- Kinesis Data Analytics SQL Reference, "ORDER BY clause": the query the page says succeeds, a streaming
-- ORDER BY led by ROWTIME over SELECT STREAM DISTINCT rowtime, ticker:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-order-by-clause.html
-- The page gives the pump only and no rows: the output stream's declaration and the trades are our own.
-- DISTINCT groups by ROWTIME, a monotonic key: the trades of one ROWTIME form a group, one row per ticker,
-- which leaves once ROWTIME moves on (the last at the end of the input), sorted by ticker; the row carries
-- the ROWTIME its trades share. test/sql/streaming-order-by.test.ts checks that order.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (trade_time TIMESTAMP, ticker VARCHAR(4));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM DISTINCT rowtime, ticker FROM trades ORDER BY ROWTIME, ticker
