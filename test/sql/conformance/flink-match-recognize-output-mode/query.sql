-- Flink SQL documentation, Queries > Pattern Recognition > Output Mode: ONE ROW PER MATCH gives the
-- PARTITION BY column first, then the measures; no AFTER MATCH clause (SKIP PAST LAST ROW):
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/match_recognize/
-- The page gives no DDL for Ticker; the watermark trails rowtime by 1 second.
CREATE TABLE Ticker (
  symbol STRING,
  price BIGINT,
  tax BIGINT,
  rowtime TIMESTAMP(3),
  WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND
);

SELECT *
FROM Ticker
    MATCH_RECOGNIZE(
        PARTITION BY symbol
        ORDER BY rowtime
        MEASURES
            FIRST(A.price) AS startPrice,
            LAST(A.price) AS topPrice,
            B.price AS lastPrice
        ONE ROW PER MATCH
        PATTERN (A+ B)
        DEFINE
            A AS LAST(A.price, 1) IS NULL OR A.price > LAST(A.price, 1),
            B AS B.price < LAST(A.price)
    );
