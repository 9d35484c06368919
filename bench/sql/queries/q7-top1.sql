-- Nexmark q7, highest bid, as a top-1 per window: in every 10-second tumbling window, one bid at the
-- highest price by ROW_NUMBER (ties by auction, then bidder), where the original (q7.sql) returns every bid
-- at that price.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ('stream' = 'bid');

SELECT window_start, window_end, auction, bidder, price, dateTime, extra
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC, auction, bidder) AS rn
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
)
WHERE rn <= 1;
