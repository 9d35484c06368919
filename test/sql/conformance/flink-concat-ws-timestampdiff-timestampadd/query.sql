-- Flink SQL documentation, Functions > System (Built-in) Functions: String Functions, CONCAT_WS, and Temporal
-- Functions, TIMESTAMPDIFF and TIMESTAMPADD, the examples of each entry:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/functions/systemfunctions/
-- CONCAT_WS('~', 'AA', NULL, 'BB', '', 'CC') is 'AA~BB~~CC' (NULLs skipped, empty texts kept);
-- TIMESTAMPDIFF(DAY, TIMESTAMP '2003-01-02 10:00:00', TIMESTAMP '2003-01-03 10:00:00') is 1;
-- TIMESTAMPADD(WEEK, 1, DATE '2003-01-02') is 2003-01-09 (a DATE is a TIMESTAMP at midnight here).
-- The rows are our own: the same functions over columns, a NULL separator, a month diff across a month end.
CREATE TABLE events (id BIGINT, sep VARCHAR(4), a VARCHAR(8), b VARCHAR(8), t1 TIMESTAMP(3), t2 TIMESTAMP(3));

SELECT id,
  CONCAT_WS('~', 'AA', NULL, 'BB', '', 'CC') AS documented_concat_ws,
  TIMESTAMPDIFF(DAY, TIMESTAMP '2003-01-02 10:00:00', TIMESTAMP '2003-01-03 10:00:00') AS documented_diff,
  TIMESTAMPADD(WEEK, 1, DATE '2003-01-02') AS documented_add,
  CONCAT_WS(sep, a, b) AS joined,
  TIMESTAMPDIFF(HOUR, t1, t2) AS hours,
  TIMESTAMPDIFF(MONTH, t1, t2) AS months,
  TIMESTAMPADD(MONTH, 1, t1) AS month_later
FROM events;
