-- Kinesis Data Analytics SQL Reference, "ORDER BY clause": a streaming ORDER BY over a UNION ALL of two
-- streams, sorted by ROWTIME, then by an expression (MOD(x, 5)):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-order-by-clause.html
-- The page gives the pump only and no rows: the output stream's declaration and the rows are our own. The
-- rows of one ROWTIME, from either stream, leave sorted by MOD(x, 5) once ROWTIME moves on;
-- test/sql/streaming-order-by.test.ts checks that order.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (x INTEGER, y INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM x, y FROM t1
UNION ALL
SELECT STREAM a, b FROM t2 ORDER BY ROWTIME, MOD(x, 5)
