-- Kinesis Data Analytics SQL Reference, ANY and EVERY (Boolean Functions), the examples over a stream of trades:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-any.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-every.html
-- The pages write GROUP BY (FLOOR trades.rowtime to hour), without FLOOR's parentheses, which the service's
-- own grammar does not accept: here it is FLOOR(trades.ROWTIME TO HOUR). The pages show no rows: the rows
-- are our own. In the first hour one price is below 1, in the second all are, in the third none is, and a
-- NULL price (the fourth hour's only row) gives NULL, as other aggregates of only NULLs do.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (hour_start TIMESTAMP, any_below_1 BOOLEAN, every_below_1 BOOLEAN);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM FLOOR(trades.ROWTIME TO HOUR), ANY (price < 1), EVERY (price < 1) FROM trades
GROUP BY FLOOR(trades.ROWTIME TO HOUR);
