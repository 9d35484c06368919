-- Kinesis Data Analytics Developer Guide, Streaming Data Operations: Stream Joins, Example 1 (trades within one
-- minute of an order, the window written in the join):
-- https://docs.aws.amazon.com/kinesisanalytics/latest/dev/stream-joins-concepts.html
-- The page gives the query and the two streams' columns, no rows: the rows are our own. The SQL Reference
-- (JOIN clause) defines the window: the trades whose ROWTIME is within the minute before the query's current
-- time, and a side without OVER joins with its current row only. So each order joins the trades of its
-- orderId that arrived less than a minute before it (order 2: trades 102 and 104), or at the same time (order 4,
-- trade 105); as in the guide's sliding windows, a row exactly a minute old has left (trade 101). A trade that
-- comes after its order (103) joins nothing. The output's ROWTIME is the order's, the later of the two.
SELECT STREAM
     ROWTIME,
     o.orderId, o.ticker, o.amount AS orderAmount,
     t.amount AS tradeAmount
FROM OrderStream AS o
JOIN TradeStream OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t
ON   o.orderId = t.orderId;
