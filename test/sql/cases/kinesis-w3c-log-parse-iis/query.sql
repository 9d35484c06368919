-- W3C_LOG_PARSE with the predefined format 'IIS', which the Kinesis Data Analytics reference names without its
-- fields: Microsoft's IIS log file format, 15 fields each ended by a comma. The two lines are the examples of
-- Microsoft's page on the format (an HTTP request and an FTP log-in); a third line of another format gives NULLs.
-- Numbers are text in the row: CAST them.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (client_ip VARCHAR(16), user_name VARCHAR(16), service VARCHAR(16),
  time_taken_ms INTEGER, bytes_sent INTEGER, status INTEGER, method VARCHAR(8), target VARCHAR(32));
CREATE OR REPLACE PUMP "IIS_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM l.r.COLUMN1, l.r.COLUMN2, l.r.COLUMN5, CAST(l.r.COLUMN8 AS INTEGER), CAST(l.r.COLUMN10 AS INTEGER),
    CAST(l.r.COLUMN11 AS INTEGER), l.r.COLUMN13, l.r.COLUMN14
  FROM (SELECT STREAM W3C_LOG_PARSE("log", 'IIS') FROM "SOURCE_SQL_STREAM_001") AS l(r);
