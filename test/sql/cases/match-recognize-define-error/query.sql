-- A DEFINE condition that fails on a row (a division by zero) does not map the row, and the row goes to the
-- error stream once, although the search tries it again from the next start (SKIP TO NEXT ROW).
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
    MEASURES FIRST(A.price) AS a_price, B.price AS b_price
    AFTER MATCH SKIP TO NEXT ROW
    PATTERN (A+ B)
    DEFINE
      A AS 100 / (A.price - 5) > 1,
      B AS B.price < 8
  );
