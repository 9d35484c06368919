-- Top-3 passages by amount per plaza and 10-minute window, over more rows than the operator keeps.
CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT, amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time) WITH ('stream' = 'tolls');
CREATE TABLE top3 (window_start TIMESTAMP(3), plaza_id INT, plate VARCHAR(16), amount_cents BIGINT, pos BIGINT) WITH ('stream' = 'top3');

INSERT INTO top3
SELECT window_start, plaza_id, plate, amount_cents, pos FROM (
  SELECT window_start, window_end, plaza_id, plate, amount_cents,
         ROW_NUMBER() OVER (PARTITION BY window_start, window_end, plaza_id ORDER BY amount_cents DESC, plate) AS pos
  FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' MINUTE))
) WHERE pos <= 3;
