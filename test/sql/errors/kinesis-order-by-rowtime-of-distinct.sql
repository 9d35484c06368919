-- fail: SQL_PLAN 7:60 ORDER BY ROWTIME outside a window: the watermark does not follow ROWTIME
-- inputs: trades
-- The SQL Reference's ORDER BY page says this query succeeds in the service; here DISTINCT over ROWTIME is
-- not yet known to give rows in ROWTIME order, so the sort is refused rather than guessed.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (t TIMESTAMP, plate VARCHAR(16));
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM DISTINCT rowtime, plate FROM trades ORDER BY ROWTIME, plate;
