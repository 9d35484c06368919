-- The navigation rules of Flink's Pattern Recognition page (Pattern Navigation: pattern variable referencing
-- and logical offsets, https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/match_recognize/):
-- the page shows its DEFINE conditions row by row in tables but gives no query output, so these queries
-- add MEASURES that show which rows were mapped. In DEFINE, B.price is the row being tried, SUM(price) reads
-- every row mapped so far and the row being tried, LAST(B.price, n) counts back from the row being tried,
-- and LAST(price, 1) is the row mapped just before it, whatever its variable (B? may map none).
-- MATCH_RECOGNIZE reads a subquery here, one symbol or two each time.
CREATE TABLE Ticker (
  symbol STRING,
  price BIGINT,
  rowtime TIMESTAMP(3),
  WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND
);

SELECT *
FROM (SELECT * FROM Ticker WHERE symbol = 'XYZ')
  MATCH_RECOGNIZE (
    PARTITION BY symbol
    ORDER BY rowtime
    MEASURES A.price AS a_price, LAST(B.price) AS last_b, SUM(price) AS sum_all, SUM(B.price) AS sum_b, COUNT(B.price) AS b_rows
    PATTERN (A B+)
    DEFINE
      A AS A.price >= 10,
      B AS B.price > A.price AND SUM(price) < 100 AND SUM(B.price) < 80
  );

SELECT *
FROM (SELECT * FROM Ticker WHERE symbol = 'XYZ')
  MATCH_RECOGNIZE (
    PARTITION BY symbol
    ORDER BY rowtime
    MEASURES LAST(B.price, 2) AS b2, LAST(B.price, 1) AS b1, LAST(B.price) AS top, FIRST(B.price, 1) AS second_b
    PATTERN (A B+)
    DEFINE
      A AS A.price >= 10,
      B AS (LAST(B.price, 1) IS NULL OR B.price > LAST(B.price, 1)) AND
           (LAST(B.price, 2) IS NULL OR B.price > 2 * LAST(B.price, 2))
  );

SELECT *
FROM (SELECT * FROM Ticker WHERE symbol IN ('P', 'Q'))
  MATCH_RECOGNIZE (
    PARTITION BY symbol
    ORDER BY rowtime
    MEASURES B.price AS b_price, C.price AS c_price, LAST(price, 1) AS before_c
    PATTERN (A B? C)
    DEFINE
      B AS B.price < 20,
      C AS LAST(price, 1) < C.price
  );
