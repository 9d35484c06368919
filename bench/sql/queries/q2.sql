-- Nexmark q2, selection: the bids on a few auctions. The original lists auction ids
-- (1007, 1020, 2001, 2019, 2087); the common streaming form, kept here, is every 123rd auction id.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ('stream' = 'bid');

SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
