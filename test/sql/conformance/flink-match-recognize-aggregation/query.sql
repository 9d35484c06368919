-- Flink SQL documentation, Queries > Pattern Recognition > Define & Measures > Aggregations: the longest
-- runs whose average price stays below 15, an aggregate in DEFINE and in MEASURES:
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
    MATCH_RECOGNIZE (
        PARTITION BY symbol
        ORDER BY rowtime
        MEASURES
            FIRST(A.rowtime) AS start_tstamp,
            LAST(A.rowtime) AS end_tstamp,
            AVG(A.price) AS avgPrice
        ONE ROW PER MATCH
        AFTER MATCH SKIP PAST LAST ROW
        PATTERN (A+ B)
        DEFINE
            A AS AVG(A.price) < 15
    ) MR;
