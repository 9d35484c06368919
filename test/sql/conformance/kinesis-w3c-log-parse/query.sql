-- Kinesis Data Analytics, W3C_LOG_PARSE: Apache logs in the Common Log Format (COMMON: %h %l %u %t "%r" %>s %b),
-- one column per specifier, read through the row alias as l.r.COLUMN1 ... l.r.COLUMN7.
-- The query is the Developer Guide's, Example: Parsing Web Logs:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/examples-transforming-strings-w3clogparse.html
-- The rows and the output are the SQL Reference's Example 1 (its output shows the time with its brackets and
-- the request without its quotes):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-w3c-log-parse.html
-- The guide's columns are VARCHAR(16), too narrow for the time and the request; they are VARCHAR(64) here.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
column1 VARCHAR(64),
column2 VARCHAR(64),
column3 VARCHAR(64),
column4 VARCHAR(64),
column5 VARCHAR(64),
column6 VARCHAR(64),
column7 VARCHAR(64));

CREATE OR REPLACE PUMP "myPUMP" AS
INSERT INTO "DESTINATION_SQL_STREAM"
        SELECT STREAM
            l.r.COLUMN1,
            l.r.COLUMN2,
            l.r.COLUMN3,
            l.r.COLUMN4,
            l.r.COLUMN5,
            l.r.COLUMN6,
            l.r.COLUMN7
        FROM (SELECT STREAM W3C_LOG_PARSE("log", 'COMMON')
              FROM "SOURCE_SQL_STREAM_001") AS l(r);
