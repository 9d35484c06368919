-- GROUP BY ROWTIME itself in Kinesis Analytics: ROWTIME is monotonic, so the trades of one ROWTIME form a
-- group that closes once ROWTIME moves on, and each group leaves once with its final count (not an updated
-- row per trade). The selected ROWTIME is the one the group's trades share.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (trade_time TIMESTAMP, ticker VARCHAR(4), trades INTEGER, low REAL);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM ROWTIME, ticker, COUNT(*), MIN(price) FROM trades GROUP BY ROWTIME, ticker
