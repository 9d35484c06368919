-- Flink SQL documentation, Functions > System (Built-in) Functions: String Functions, the examples of the
-- entries CHR, ELT, BTRIM, PARSE_URL, REGEXP_COUNT, REGEXP_INSTR, REGEXP_SUBSTR and TRANSLATE, and PRINTF's
-- example from the issue that added it (FLINK-35920):
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/functions/systemfunctions/
-- CHR(97) and CHR(353) are 'a'; ELT(1, 'scala', 'java') is 'scala'; BTRIM('/www.apache.org/', '/') is
-- 'www.apache.org'; PARSE_URL of 'http://facebook.com/path1/p.php?k1=v1&k2=v2#Ref1' is 'facebook.com' for
-- 'HOST' and 'v1' for 'QUERY', 'k1'; the players' text matches 'Ste(v|ph)en' twice, first at 1, as 'Steven';
-- TRANSLATE('www.apache.org', 'wapcheorg', ' APCHEcom') is '   .APACHE.com';
-- PRINTF('Hello World %d %s', 100, 'days') is 'Hello World 100 days'.
-- The rows are our own: the same functions over columns, with NULLs, a URL without a query, text without a match.
CREATE TABLE visits (id BIGINT, url VARCHAR(128), note VARCHAR(64), n BIGINT);

SELECT id,
  CHR(97) || CHR(353) AS documented_chr,
  ELT(1, 'scala', 'java') AS documented_elt,
  BTRIM('/www.apache.org/', '/') AS documented_btrim,
  PARSE_URL('http://facebook.com/path1/p.php?k1=v1&k2=v2#Ref1', 'HOST') AS documented_host,
  PARSE_URL('http://facebook.com/path1/p.php?k1=v1&k2=v2#Ref1', 'QUERY', 'k1') AS documented_k1,
  REGEXP_COUNT('Steven Jones and Stephen Smith are the best players', 'Ste(v|ph)en') AS documented_count,
  REGEXP_INSTR('Steven Jones and Stephen Smith are the best players', 'Ste(v|ph)en') AS documented_instr,
  REGEXP_SUBSTR('Steven Jones and Stephen Smith are the best players', 'Ste(v|ph)en') AS documented_substr,
  TRANSLATE('www.apache.org', 'wapcheorg', ' APCHEcom') AS documented_translate,
  PRINTF('Hello World %d %s', 100, 'days') AS documented_printf,
  PARSE_URL(url, 'HOST') AS host,
  PARSE_URL(url, 'QUERY', 'plate') AS plate,
  URL_DECODE(PARSE_URL(url, 'QUERY', 'q')) AS q,
  URL_ENCODE(note) AS encoded_note,
  REGEXP_SUBSTR(note, '[0-9]+') AS first_number,
  REGEXP_COUNT(note, '[0-9]+') AS numbers,
  PRINTF('%s owes %05d cents', ELT(n, 'one', 'two'), n * 125) AS line,
  IS_DIGIT(REGEXP_SUBSTR(note, '[0-9]+')) AS digits
FROM visits;
