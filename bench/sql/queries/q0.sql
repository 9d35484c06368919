-- Nexmark q0, pass-through: every bid out unchanged. Measures the engine's fixed cost per row
-- (decoding, the source, one Calc, the sink).
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ('stream' = 'bid');

SELECT auction, bidder, price, dateTime, extra FROM bid;
