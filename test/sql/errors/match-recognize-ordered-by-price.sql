-- fail: SQL_PLAN 3:68 MATCH_RECOGNIZE must ORDER BY a time attribute ascending (this is BIGINT)
CREATE TABLE Ticker (symbol STRING, price BIGINT, rowtime TIMESTAMP(3), WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND);
SELECT * FROM Ticker MATCH_RECOGNIZE (PARTITION BY symbol ORDER BY price MEASURES A.price AS p PATTERN (A B) DEFINE B AS B.price > A.price);
