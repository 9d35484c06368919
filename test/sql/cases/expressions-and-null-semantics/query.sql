-- Row-by-row expressions: three-valued logic, CASE, CAST, COALESCE, IN, BETWEEN, LIKE, string and time functions.
CREATE TABLE tolls (
  plate VARCHAR(16),
  vehicle_class VARCHAR(8),
  amount_cents BIGINT,
  discount_cents BIGINT,
  event_time TIMESTAMP(3)
) WITH ('stream' = 'tolls');

CREATE TABLE enriched (
  plate VARCHAR(16),
  region VARCHAR(8),
  net_cents BIGINT,
  euros DOUBLE,
  class_label VARCHAR(16),
  is_truck BOOLEAN,
  night BOOLEAN,
  minute_start TIMESTAMP(3),
  local_time TIMESTAMP(3),
  hour_of_day INT,
  tag VARCHAR(32)
) WITH ('stream' = 'enriched');

INSERT INTO enriched
SELECT
  UPPER(TRIM(plate)),
  REGEXP_EXTRACT(plate, '^([A-Z]+)-', 1),
  amount_cents - COALESCE(discount_cents, 0),
  CAST(amount_cents AS DOUBLE) / 100,
  CASE vehicle_class WHEN 'car' THEN 'Car' WHEN 'truck' THEN 'Truck' ELSE 'Other' END,
  vehicle_class IN ('truck', 'bus') AND amount_cents > 300,
  EXTRACT(HOUR FROM event_time) NOT BETWEEN 6 AND 21,
  FLOOR(event_time TO MINUTE),
  CONVERT_TZ(event_time, 'UTC', 'Europe/Paris'),
  EXTRACT(HOUR FROM event_time + INTERVAL '90' MINUTE),
  LOWER(vehicle_class) || ':' || CAST(CHAR_LENGTH(plate) AS VARCHAR) || ':' || SUBSTRING(plate FROM 1 FOR 2)
FROM tolls
WHERE plate LIKE '%-%' AND (discount_cents IS NULL OR discount_cents < amount_cents);
