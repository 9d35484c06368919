-- Nexmark q8, new users: persons who created an auction in the same 10-second tumbling window as they
-- joined. The original joins two windowed GROUP BYs on (id = seller, window_start, window_end), a window
-- join our SQL does not have. Closest equivalent: an interval join of persons with their auctions within
-- 10 seconds after joining, kept when both fall in the same 10-second window (equal STEP), then one row per
-- person and window (SELECT DISTINCT, as the original's GROUP BY does).
CREATE TABLE person (id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, state VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ('stream' = 'person');
CREATE TABLE auction (id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND) WITH ('stream' = 'auction');

SELECT DISTINCT p.id, p.name, STEP(p.dateTime BY INTERVAL '10' SECOND) AS starttime
FROM person p JOIN auction a
  ON p.id = a.seller
  AND a.dateTime BETWEEN p.dateTime - INTERVAL '10' SECOND AND p.dateTime + INTERVAL '10' SECOND
  AND STEP(a.dateTime BY INTERVAL '10' SECOND) = STEP(p.dateTime BY INTERVAL '10' SECOND);
