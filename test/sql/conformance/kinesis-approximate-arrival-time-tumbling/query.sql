-- Kinesis Data Analytics Developer Guide, Timestamps and the ROWTIME Column, "Understanding Various Times in
-- Streaming Analytics": a ticker count per one-minute window of ROWTIME (when the row entered the application)
-- and of APPROXIMATE_ARRIVAL_TIME (when the record reached the stream); a record read late gives a partial
-- count in the next ROWTIME window, still under its arrival minute:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/timestamps-rowtime-concepts.html
-- The counts are the page's (ABC 10, DEF 15, XYZ 6 in the first minute; ABC 11, DEF 11 and one late XYZ in
-- the second). The page gives no records: ours have those counts, arrive 200 ms before they are read, except
-- the late XYZ, which reached the stream at 17:05:58 and is read at 17:06:30 (`_approximate_arrival_time`
-- and `_arrival_time` of each record).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM"
    ("ingest_time"    timestamp,
    "APPROXIMATE_ARRIVAL_TIME" timestamp,
    "ticker_symbol"  VARCHAR(12),
    "symbol_count"        integer);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
    INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '60' SECOND) AS "ingest_time",
        STEP("SOURCE_SQL_STREAM_001".APPROXIMATE_ARRIVAL_TIME BY INTERVAL '60' SECOND) AS "APPROXIMATE_ARRIVAL_TIME",
        "TICKER_SYMBOL",
        COUNT(*) AS "symbol_count"
    FROM "SOURCE_SQL_STREAM_001"
    GROUP BY "TICKER_SYMBOL",
        STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '60' SECOND),
        STEP("SOURCE_SQL_STREAM_001".APPROXIMATE_ARRIVAL_TIME BY INTERVAL '60' SECOND);
