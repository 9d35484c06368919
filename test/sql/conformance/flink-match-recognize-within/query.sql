-- Flink SQL documentation, Queries > Pattern Recognition > Time constraint: a price drop of more than 10
-- within one hour (WITHIN INTERVAL '1' HOUR); larger drops over longer times do not match:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/match_recognize/
-- The page's DEFINE lacks the comma between its two conditions; it is written here. The page gives no DDL
-- for Ticker; the watermark trails rowtime by 1 second.
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
            C.rowtime AS dropTime,
            A.price - C.price AS dropDiff
        ONE ROW PER MATCH
        AFTER MATCH SKIP PAST LAST ROW
        PATTERN (A B* C) WITHIN INTERVAL '1' HOUR
        DEFINE
            B AS B.price > A.price - 10,
            C AS C.price < A.price - 10
    );
