-- Kinesis Data Analytics SQL Reference, String Operators: the concatenation and LIKE tables (ESCAPE
-- included): https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-string-operators.html
-- Each input row holds one operation's operands, the output its result.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (s VARCHAR(16), p VARCHAR(16), r BOOLEAN);
CREATE OR REPLACE PUMP "LIKE_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM "s", "p", "s" LIKE "p" FROM "SOURCE_SQL_STREAM_001" WHERE "esc" IS NULL;
CREATE OR REPLACE PUMP "LIKE_ESCAPE_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM "s", "p", "s" LIKE "p" ESCAPE '\' FROM "SOURCE_SQL_STREAM_001" WHERE "esc" IS NOT NULL;

CREATE OR REPLACE STREAM "CONCATENATED" (a VARCHAR(32), b VARCHAR(32), c VARCHAR(32));
CREATE OR REPLACE PUMP "CONCAT_PUMP" AS INSERT INTO "CONCATENATED"
SELECT STREAM 'SQL'||'stream', 'SQL'||''||'stream', 'SQL'||'stream'||' Incorporated'
FROM "SOURCE_SQL_STREAM_001" WHERE "s" = '' AND "p" = '';
