-- fail: SQL_PLAN 3:140 MATCH_RECOGNIZE ORDER BY t: the watermark does not follow t
CREATE TABLE Ticker (symbol STRING, price BIGINT, rowtime TIMESTAMP(3), WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND);
SELECT * FROM (SELECT symbol, price, rowtime + INTERVAL '1' SECOND * price AS t FROM Ticker) MATCH_RECOGNIZE (PARTITION BY symbol ORDER BY t MEASURES A.price AS p PATTERN (A B) DEFINE B AS B.price > A.price);
