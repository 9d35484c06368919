-- Kinesis Data Analytics Developer Guide, Streaming Data Operations: Stream Joins, the outer join example
-- (orders without trades within the minute): https://docs.aws.amazon.com/kinesisanalytics/latest/dev/stream-joins-concepts.html
-- The page writes OUTER JOIN (no LEFT, RIGHT or FULL) and a comma before FROM, which no SQL parser takes; the
-- SQL Reference (JOIN clause) names the kinds LEFT, RIGHT and FULL OUTER JOIN. This is the page's query as a
-- LEFT OUTER JOIN: every order, with the trades of the minute before it, or with NULLs when it has none.
-- The page gives no rows: ours are those of kinesis-stream-join-over-range. Orders 3 (its trade came after it)
-- and 5 (no trade of its orderId) come padded with NULLs and their own ROWTIME: a side without OVER joins with
-- its current row only, so once the trades up to the order's ROWTIME are in, no match can come.
SELECT STREAM
    ROWTIME,
    o.orderId, o.ticker, o.amount AS orderAmount,
    t.ticker AS tradeTicker, t.tradeId, t.amount AS tradeAmount
FROM OrderStream AS o
LEFT OUTER JOIN TradeStream OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t
ON    o.orderId = t.orderId;
