-- V shapes per symbol (a fall, then a rise) with PREV, which reads the row before in the partition whether
-- or not it is in the match (PREV(STRT.price) reaches before the match's first row), a measure over every
-- row of the match (COUNT(*)), MATCH_ROWTIME(), and the next search starting at the top of the rise. The two
-- symbols' rows are interleaved, some out of order within the watermark delay.
CREATE TABLE Ticker (
  symbol STRING,
  price BIGINT,
  rowtime TIMESTAMP(3),
  WATERMARK FOR rowtime AS rowtime - INTERVAL '3' SECOND
);

SELECT T.symbol, T.before_start, T.start_price, T.bottom_price, T.end_price, T.end_price - T.bottom_price AS rise, T.n, T.match_time
FROM Ticker
  MATCH_RECOGNIZE (
    PARTITION BY symbol
    ORDER BY rowtime
    MEASURES
      PREV(STRT.price) AS before_start,
      FIRST(price) AS start_price,
      LAST(DOWN.price) AS bottom_price,
      LAST(UP.price) AS end_price,
      COUNT(*) AS n,
      MATCH_ROWTIME() AS match_time
    AFTER MATCH SKIP TO LAST UP
    PATTERN (STRT DOWN+ UP+)
    DEFINE
      DOWN AS DOWN.price < PREV(DOWN.price),
      UP AS UP.price > PREV(UP.price)
  ) AS T;
