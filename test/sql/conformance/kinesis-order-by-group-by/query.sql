-- Kinesis Data Analytics SQL Reference, "ORDER BY clause": its example of a streaming ORDER BY, sorting the
-- rows of a streaming GROUP BY by the hour, then state, then the sum:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-order-by-clause.html
-- The page gives the pump only and no rows: the output stream's declaration and the orders are our own. The
-- rows of each hour leave when ROWTIME passes into the next hour (the last hour's at the end of the input),
-- sorted by state, then by the sum ascending; test/sql/streaming-order-by.test.ts checks that order.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (state VARCHAR(2), city VARCHAR(20), total DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM state, city, SUM(amount)
FROM orders
GROUP BY FLOOR(ROWTIME TO HOUR), state, city
ORDER BY FLOOR(ROWTIME TO HOUR), state, SUM(amount)
