-- ROLLUP over two keys of a TUMBLE window: the sets (plaza, plate), (plaza) and (). GROUPING(plaza, plate)
-- tells the rows apart (0, 1, 3: a bit for each key a row's set leaves out), HAVING sees the NULL of a key
-- left out, and the key keeps its name in every set. Also INSERT INTO a declared table.
CREATE TABLE tolls (plaza VARCHAR(8), plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' MINUTE);
CREATE TABLE totals (window_start TIMESTAMP(3), plaza VARCHAR(8), plate VARCHAR(16), g BIGINT, n BIGINT, cents BIGINT);

INSERT INTO totals
SELECT window_start, plaza, plate, GROUPING(plaza, plate), COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' MINUTE))
GROUP BY window_start, window_end, ROLLUP (plaza, plate)
HAVING plate IS NULL OR SUM(amount_cents) > 300;
