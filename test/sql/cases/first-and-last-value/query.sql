-- FIRST_VALUE and LAST_VALUE: over an OVER window ordered by event time (the oldest and the newest row of the
-- range), and per TUMBLE window and plate (the first and the last row to arrive).
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'tolls');

SELECT plate, amount_cents, FIRST_VALUE(amount_cents) OVER w AS first_amount, LAST_VALUE(amount_cents) OVER w AS last_amount
FROM tolls
WINDOW w AS (PARTITION BY plate ORDER BY event_time RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW);

SELECT window_start, plate, FIRST_VALUE(amount_cents) AS first_amount, LAST_VALUE(amount_cents) AS last_amount
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, plate;
