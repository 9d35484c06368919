-- fail: SQL_PLAN 5:51 only when ROWTIME or a time window is among its keys (SELECT STREAM DISTINCT rowtime, ticker)
-- inputs: trades
-- DISTINCT without ROWTIME keeps its rows for the whole run and sends each the first time it comes: its
-- ROWTIME is not one the watermark follows. With rowtime selected too, the reference's query, it runs.
SELECT STREAM DISTINCT plate FROM trades ORDER BY ROWTIME, plate;
