-- Vehicles per toll station per event-time window, judged against the station reference data.
-- Placeholders in double braces are filled with whole numbers from the config (see query.ts).
--
-- station_window_counts: every (station, window) that saw at least one vehicle, with what was expected;
--   the evaluator reads it to learn which stations were seen and how far event time has got.
-- station_alerts_candidates: the windows whose count is below the station's alert threshold.

CREATE TABLE tolls (
  plaza_id VARCHAR(64),
  event_time TIMESTAMP,
  WATERMARK FOR event_time AS event_time - INTERVAL '{{lateness_seconds}}' SECOND
) WITH ('stream' = '{{transactions_stream}}');

-- The latest reference row per station, day of week (0 = Sunday, UTC) and 30-minute slot (0-47),
-- followed live: a load through the API or the CLI changes it while this query runs.
CREATE TABLE station_reference (
  plaza_id VARCHAR(64),
  day_of_week BIGINT,
  slot BIGINT,
  expected_count BIGINT,
  alert_threshold BIGINT
) WITH ('stream' = 'station_reference', 'kind' = 'table', 'key' = 'plaza_id,day_of_week,slot');

CREATE TABLE station_window_counts (
  plaza_id VARCHAR(64), window_start TIMESTAMP, window_end TIMESTAMP, vehicle_count BIGINT,
  expected_count BIGINT, alert_threshold BIGINT, reference VARCHAR(8)
) WITH ('stream' = 'station_window_counts');

CREATE TABLE station_alerts_candidates (
  plaza_id VARCHAR(64), window_start TIMESTAMP, window_end TIMESTAMP, vehicle_count BIGINT,
  expected_count BIGINT, alert_threshold BIGINT, reference VARCHAR(8)
) WITH ('stream' = 'station_alerts_candidates');

CREATE VIEW station_windows AS
  SELECT plaza_id, window_start, window_end, COUNT(*) AS vehicle_count
  FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '{{window_minutes}}' MINUTE))
  GROUP BY window_start, window_end, plaza_id;

-- A station without a reference row for the window's slot gets the configured defaults.
CREATE VIEW judged_windows AS
  SELECT w.plaza_id, w.window_start, w.window_end, w.vehicle_count,
    COALESCE(r.expected_count, {{default_expected}}) AS expected_count,
    COALESCE(r.alert_threshold, {{default_threshold}}) AS alert_threshold,
    CASE WHEN r.plaza_id IS NULL THEN 'default' ELSE 'station' END AS reference
  FROM station_windows w
  LEFT JOIN station_reference r
    ON w.plaza_id = r.plaza_id
    AND r.day_of_week = EXTRACT(DOW FROM w.window_start) - 1
    AND r.slot = EXTRACT(HOUR FROM w.window_start) * 2 + FLOOR(EXTRACT(MINUTE FROM w.window_start) / 30);

INSERT INTO station_window_counts SELECT * FROM judged_windows;

INSERT INTO station_alerts_candidates SELECT * FROM judged_windows WHERE vehicle_count < alert_threshold;
