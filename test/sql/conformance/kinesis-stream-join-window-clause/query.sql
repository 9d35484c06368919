-- Kinesis Data Analytics Developer Guide, Streaming Data Operations: Stream Joins, Example 1 written with the
-- WINDOW clause: https://docs.aws.amazon.com/kinesisanalytics/latest/dev/stream-joins-concepts.html
-- The same query as kinesis-stream-join-over-range, the window named t in WINDOW; the page gives TradeStream no
-- alias and reads its columns as t.orderId and t.amount, so a stream joined OVER a named window without AS is
-- read by the window's name. The rows are our own, those of kinesis-stream-join-over-range, with its result.
SELECT STREAM
    ROWTIME,
    o.orderId, o.ticker, o.amount AS orderAmount,
    t.amount AS tradeAmount
FROM OrderStream AS o
JOIN TradeStream OVER t
ON o.orderId = t.orderId
WINDOW t AS
    (RANGE INTERVAL '1' MINUTE PRECEDING)
