-- fail: SQL_PLAN 3:119 DEFINE names C, which is not a variable of the PATTERN
CREATE TABLE Ticker (symbol STRING, price BIGINT, rowtime TIMESTAMP(3), WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND);
SELECT * FROM Ticker MATCH_RECOGNIZE (PARTITION BY symbol ORDER BY rowtime MEASURES A.price AS p PATTERN (A B) DEFINE C AS C.price > 10);
