-- A window over MATCH_ROWTIME() downstream. The run of rising prices ends at 00:00:04, but only the row at
-- 00:00:30 (a fall) closes the match, long after the watermark passed 00:00:10. The watermark waits at the
-- first row of a match still being found, so the 10-second window still counts the match.
CREATE TABLE Ticker (
  symbol STRING,
  price BIGINT,
  rowtime TIMESTAMP(3),
  WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND
);

CREATE VIEW rises AS
SELECT *
FROM Ticker
  MATCH_RECOGNIZE (
    PARTITION BY symbol
    ORDER BY rowtime
    MEASURES MATCH_ROWTIME() AS match_time, COUNT(*) AS n
    PATTERN (A B+)
    DEFINE B AS B.price > PREV(B.price)
  );

SELECT * FROM rises;

SELECT window_start, window_end, COUNT(*) AS matches, SUM(n) AS rows_in_matches
FROM TABLE(TUMBLE(TABLE rises, DESCRIPTOR(match_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
