-- Kinesis Data Analytics SQL Reference, VAR_POP, VAR_SAMP, STDDEV_POP and STDDEV_SAMP: the examples over the
-- sample stock dataset, per ticker in a tumbling window (GROUP BY STEP(ROWTIME)) and in a sliding window:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-VARPOP.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-VARSAMP.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-STDDEVPOP.html
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-STDDEVSAMP.html
-- The pages show no rows: the rows are our own. A NULL price is ignored; one value has no sample variance.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  ticker_symbol VARCHAR(4), var_pop_price REAL, var_samp_price REAL, stddev_pop_price REAL, stddev_samp_price REAL);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker_symbol, VAR_POP(price), VAR_SAMP(price), STDDEV_POP(price), STDDEV_SAMP(price)
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY ticker_symbol, STEP(("SOURCE_SQL_STREAM_001".ROWTIME) BY INTERVAL '60' SECOND);

CREATE OR REPLACE STREAM "SLIDING_STREAM" (ticker_symbol VARCHAR(4), price REAL, var_pop_price REAL, stddev_samp_price REAL);
CREATE OR REPLACE PUMP "SLIDING_PUMP" AS INSERT INTO "SLIDING_STREAM"
  SELECT STREAM ticker_symbol, price,
    VAR_POP(price) OVER TEN_SECOND_SLIDING_WINDOW, STDDEV_SAMP(price) OVER TEN_SECOND_SLIDING_WINDOW
  FROM "SOURCE_SQL_STREAM_001"
  WINDOW TEN_SECOND_SLIDING_WINDOW AS (PARTITION BY ticker_symbol RANGE INTERVAL '10' SECOND PRECEDING);
