-- Nexmark q5, hot items: in every 10-second window sliding by 2 seconds, the auctions with the most bids
-- (every auction tied at the maximum count).
-- The original joins the counts per auction and window with the maximum count per window, computed by a
-- GROUP BY over the counts. Our SQL rejects a GROUP BY without a window over another aggregate's output,
-- and joins two streams only with a time bound. So the maximum is a windowed aggregate too: every HOP
-- window ends on a 2-second boundary and all its rows carry the same window_end, so a 2-second TUMBLE on
-- window_end holds exactly the rows of one HOP window; the join is an interval join keyed on that
-- window_end. Same result as the original.
-- The time bound is wider than the equality needs on purpose: a window aggregate emits its rows when the
-- watermark passes their window, so the maximum (one window later) reaches the join 2 seconds behind the
-- watermark, and the join keeps a row only while `row time + bound >= watermark`. With a bound of 0 the
-- counts were evicted before their maximum arrived and matches went missing without a LATE_ROW.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ('stream' = 'bid');

CREATE VIEW auction_bids AS
SELECT window_start AS starttime, window_end AS endtime, auction, COUNT(*) AS num
FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
GROUP BY window_start, window_end, auction;

CREATE VIEW max_bids AS
SELECT window_start AS endtime, MAX(num) AS maxn
FROM TABLE(TUMBLE(TABLE auction_bids, DESCRIPTOR(endtime), INTERVAL '2' SECOND))
GROUP BY window_start, window_end;

SELECT a.starttime, a.auction, a.num
FROM auction_bids a JOIN max_bids m
  ON a.endtime = m.endtime AND a.num >= m.maxn
  AND m.endtime BETWEEN a.endtime - INTERVAL '10' SECOND AND a.endtime + INTERVAL '10' SECOND;
