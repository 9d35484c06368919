-- Nexmark q1, currency conversion: every bid with its price in euros (price * 0.908, a DOUBLE).
-- Integer-friendly variant (exact, for money kept in integer units): price * 908 / 1000 (integer division
-- truncates) gives the euro price rounded toward zero.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ('stream' = 'bid');

SELECT auction, bidder, price * 0.908 AS price, dateTime, extra FROM bid;
