-- fail: SQL_PLAN 3:85 LAST(...) reads more than one pattern variable
CREATE TABLE Ticker (symbol STRING, price BIGINT, rowtime TIMESTAMP(3), WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND);
SELECT * FROM Ticker MATCH_RECOGNIZE (PARTITION BY symbol ORDER BY rowtime MEASURES LAST(A.price - B.price) AS d PATTERN (A B) DEFINE B AS B.price > A.price);
