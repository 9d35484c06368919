-- Kinesis Data Analytics SQL Reference, REGEX_REPLACE, example 1 (replace every match in the sector):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-regex-replace.html
-- The page's SQL has a ';' after the REGEX_REPLACE call where a ',' belongs; it is a ',' here. The page
-- shows its output only as a picture: the rows are our own.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
  ticker_symbol VARCHAR(4), SECTOR VARCHAR(24), CHANGE REAL, PRICE REAL);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM TICKER_SYMBOL,
                REGEX_REPLACE(SECTOR, 'TECHNOLOGY', 'INFORMATION TECHNOLOGY', 1, 0),
                CHANGE,
                PRICE
  FROM "SOURCE_SQL_STREAM_001";
