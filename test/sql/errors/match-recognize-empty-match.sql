-- fail: SQL_PLAN 3:107 a PATTERN that can match no row at all is not supported
CREATE TABLE Ticker (symbol STRING, price BIGINT, rowtime TIMESTAMP(3), WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND);
SELECT * FROM Ticker MATCH_RECOGNIZE (PARTITION BY symbol ORDER BY rowtime MEASURES A.price AS p PATTERN (A* B?) DEFINE A AS A.price > 10);
