-- EXCEPT with a stream on its right is refused, and the error names this form instead: keep a row of the
-- left stream when the right one brings no match within a time bound (an anti-join). Here: tolls of a plate
-- that had no toll over 100 cents within a minute either side. B's 10 s toll has one 10 s later; C's and A's
-- third toll are over 100 cents themselves; A's first two have nothing over 100 within a minute.
CREATE TABLE tolls (plate VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3), WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
SELECT plate, amount_cents FROM tolls s WHERE NOT EXISTS (
  SELECT * FROM tolls r
  WHERE r.plate = s.plate AND r.amount_cents > 100
    AND r.event_time BETWEEN s.event_time - INTERVAL '1' MINUTE AND s.event_time + INTERVAL '1' MINUTE);
