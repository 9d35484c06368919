-- NTH_VALUE ... FROM LAST in a tumbling window (GROUP BY STEP): the nth value counted back from the window's
-- last row in arrival order, NULLs counted unless IGNORE NULLS, NULL while the window has fewer rows. A
-- checkpoint in the middle of a window keeps the last values (restore.test.ts cuts this case everywhere).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(4), window_start TIMESTAMP, third_last REAL, second_last_not_null REAL);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker_symbol, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' SECOND),
    NTH_VALUE(price, 3) FROM LAST, NTH_VALUE(price, 2) FROM LAST IGNORE NULLS
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY ticker_symbol, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' SECOND);
