-- A log parser's column read where it is written, inside expressions: REGEX_LOG_PARSE(s, re).COLUMN1 in the
-- select list, in a CAST and in WHERE; W3C_LOG_PARSE(s, 'COMMON').COLUMN6 in a CASE. A line the pattern does
-- not match gives NULL columns, so WHERE drops it; a field that is not a number is a CAST_FAILED row.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (plaza VARCHAR(8), lane INTEGER, kind VARCHAR(8));
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM LOWER(REGEX_LOG_PARSE(tag, '([A-Z]+)-(\w+)').COLUMN1),
    CAST(REGEX_LOG_PARSE(tag, '([A-Z]+)-(\w+)').COLUMN2 AS INTEGER),
    CASE WHEN CAST(W3C_LOG_PARSE(line, 'COMMON').COLUMN6 AS INTEGER) >= 400 THEN 'error' ELSE 'ok' END
  FROM "SOURCE_SQL_STREAM_001"
  WHERE REGEX_LOG_PARSE(tag, '([A-Z]+)-(\w+)').COLUMN1 <> 'SKIP';
