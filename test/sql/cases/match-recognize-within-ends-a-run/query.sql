-- WITHIN decides a match that waits for rows: X's run A B* could take more rows, until the watermark (moved
-- by Y's rows) shows that no X row can come within 5 seconds of its first. X's match then leaves with no X
-- row after it, and the matches of a partition that got no rows are in the next checkpoint.
CREATE TABLE Ticker (
  symbol STRING,
  price BIGINT,
  rowtime TIMESTAMP(3),
  WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND
);

SELECT *
FROM Ticker
  MATCH_RECOGNIZE (
    PARTITION BY symbol
    ORDER BY rowtime
    MEASURES COUNT(*) AS n, MATCH_ROWTIME() AS last_time
    PATTERN (A B*) WITHIN INTERVAL '5' SECOND
    DEFINE
      A AS A.price = 1,
      B AS B.price > 1
  );
