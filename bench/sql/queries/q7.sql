-- Nexmark q7, highest bid: in every 10-second tumbling window, every bid at the window's highest price.
-- As in the original, the bids are joined with the maximum price per window; the join is an interval join
-- (our only stream-stream join) keyed on the price, kept to the bids inside the window
-- [window_start, window_end). The maximum reaches the join when the watermark passes its window's end, so
-- the time bound keeps bids 20 seconds (window and watermark delay, with room) after their time. (The join
-- now also keeps rows as long as the maximum can still arrive, so a narrower bound gives the same result.)
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ('stream' = 'bid');

CREATE VIEW max_price AS
SELECT window_start, window_end, MAX(price) AS maxprice
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;

SELECT m.window_start, b.auction, b.bidder, b.price, b.dateTime, b.extra
FROM bid b JOIN max_price m
  ON b.price = m.maxprice
  AND m.window_end BETWEEN b.dateTime AND b.dateTime + INTERVAL '20' SECOND
  AND b.dateTime >= m.window_start AND b.dateTime < m.window_end;
