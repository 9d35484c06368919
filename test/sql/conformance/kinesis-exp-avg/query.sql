-- Kinesis Data Analytics SQL Reference, EXP_AVG: an average over a 30-second sliding window per ticker in
-- which the newest 10 s weigh twice the middle 10 s and four times the oldest (a half-life of 10 s):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-exp-avg.html
-- The page shows no rows: the rows are our own. The page selects t.rowtime too; a pump writes ROWTIME by
-- itself here, so it is left out of the select list.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), price DOUBLE, avgPrice DOUBLE);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
select stream ticker, price,
exp_avg(price, INTERVAL '10' SECOND) over w as avgPrice
from t
window w as (partition by ticker range interval '30' second preceding);
