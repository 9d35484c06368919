-- FIXED_COLUMN_LOG_PARSE, VARIABLE_COLUMN_LOG_PARSE and SYS_LOG_PARSE of the Kinesis Data Analytics SQL
-- Reference, whose pages give the syntax and no example rows. Fixed columns start at 0 and run to the next
-- column's START without FOR; typed columns are converted (a timestamp by its pattern). Variable columns
-- split at the delimiter, an escaped delimiter or a quoted one stays in its field, missing fields are NULL.
-- A syslog line without a year is in 1970; a line that does not match gives NULL columns. One input, so
-- that the pumps' checkpoints line up.
CREATE OR REPLACE STREAM "FIXED_OUT" (plaza VARCHAR(4), lane INTEGER, cents INTEGER, seen TIMESTAMP);
CREATE OR REPLACE PUMP "FIXED_PUMP" AS INSERT INTO "FIXED_OUT"
  SELECT STREAM t.r.PLAZA, t.r.LANE, t.r.CENTS, t.r.SEEN
  FROM (SELECT STREAM FIXED_COLUMN_LOG_PARSE(line, 'plaza TYPE VARCHAR(4) START 0 FOR 4, lane TYPE INTEGER START 4, cents TYPE INTEGER START 6 FOR 5, seen TYPE TIMESTAMP ''yyyy-MM-dd HH:mm:ss'' START 11') AS r
        FROM "LOG_LINES" WHERE kind = 'fixed') AS t;

CREATE OR REPLACE STREAM "CSV_OUT" (a VARCHAR(16), b VARCHAR(16), c VARCHAR(16));
CREATE OR REPLACE PUMP "CSV_PUMP" AS INSERT INTO "CSV_OUT"
  SELECT STREAM v.r.COLUMN1, v.r.COLUMN2, v.r.COLUMN3
  FROM (SELECT STREAM VARIABLE_COLUMN_LOG_PARSE(line, 3, ',', '\', '"') AS r FROM "LOG_LINES" WHERE kind = 'csv') AS v;

CREATE OR REPLACE STREAM "TYPED_OUT" (plate VARCHAR(16), cents INTEGER);
CREATE OR REPLACE PUMP "TYPED_PUMP" AS INSERT INTO "TYPED_OUT"
  SELECT STREAM v.r.plate, v.r.cents * 2
  FROM (SELECT STREAM VARIABLE_COLUMN_LOG_PARSE(line, 'plate TYPE VARCHAR(16), cents TYPE INTEGER', ';') AS r FROM "LOG_LINES" WHERE kind = 'csv') AS v;

CREATE OR REPLACE STREAM "SYS_OUT" (logged TIMESTAMP, message VARCHAR(64));
CREATE OR REPLACE PUMP "SYS_PUMP" AS INSERT INTO "SYS_OUT"
  SELECT STREAM s.r.COLUMN1, s.r.COLUMN2 FROM (SELECT STREAM SYS_LOG_PARSE(line) FROM "LOG_LINES" WHERE kind = 'sys') AS s(r);
