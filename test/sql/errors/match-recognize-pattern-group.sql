-- fail: SQL_SYNTAX 3:109 groups in a PATTERN are not supported
CREATE TABLE Ticker (symbol STRING, price BIGINT, rowtime TIMESTAMP(3), WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND);
SELECT * FROM Ticker MATCH_RECOGNIZE (PARTITION BY symbol ORDER BY rowtime MEASURES A.price AS p PATTERN (A (B C)+) DEFINE B AS B.price > A.price);
