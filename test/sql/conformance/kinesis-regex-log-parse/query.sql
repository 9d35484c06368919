-- Kinesis Data Analytics SQL Reference, REGEX_LOG_PARSE, Example 2 (Example 1 is the same without SECTOR):
-- each group of the pattern is a column, COLUMN1 to COLUMNn, read through the row alias as T.REC.COLUMN1;
-- a sector the pattern does not match gives NULL:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-regex-log-parse.html
-- The page shows its output only as a picture: the rows are our own, from the sample stock dataset's sectors.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (sector VARCHAR(24), match1 VARCHAR(24), match2 VARCHAR(24));

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM T.SECTOR, T.REC.COLUMN1, T.REC.COLUMN2
    FROM
         (SELECT STREAM SECTOR,
             REGEX_LOG_PARSE(SECTOR, '.*([E].).*([R].*)') AS REC
             FROM SOURCE_SQL_STREAM_001) AS T;
