-- AFTER MATCH SKIP TO LAST of a variable the match did not use (DIP? took no row): the standard makes it an
-- error. The match is still sent; the error stream gets MATCH_SKIP with the match's first row, and the search
-- goes on at the row after it.
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
    MEASURES FIRST(price) AS first_price, LAST(UP.price) AS top, COUNT(DIP.price) AS dips
    AFTER MATCH SKIP TO LAST DIP
    PATTERN (STRT DIP? UP)
    DEFINE
      DIP AS DIP.price < STRT.price,
      UP AS UP.price > STRT.price
  );
