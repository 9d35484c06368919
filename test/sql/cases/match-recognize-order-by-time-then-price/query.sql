-- ORDER BY the time attribute, then another column (Flink's page allows `ORDER BY rowtime ASC, price DESC`):
-- rows of one time are matched in price order, highest first, whatever order they came in. At 08:00:00 the
-- 5 comes before the 9, but the 9 is matched first, so the pair (9, 5) is a fall.
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
    ORDER BY rowtime ASC, price DESC
    MEASURES A.price AS high, B.price AS low, B.rowtime AS low_time
    PATTERN (A B)
    DEFINE B AS B.price < A.price
  );
