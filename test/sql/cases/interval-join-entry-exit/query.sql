-- Interval join of two streams: a vehicle's exit matched to its entry within 2 hours after it.
CREATE TABLE entries (plate VARCHAR(16), entry_plaza INT, entry_time TIMESTAMP(3),
  WATERMARK FOR entry_time AS entry_time - INTERVAL '1' MINUTE) WITH ('stream' = 'entries');
CREATE TABLE exits (plate VARCHAR(16), exit_plaza INT, exit_time TIMESTAMP(3),
  WATERMARK FOR exit_time AS exit_time - INTERVAL '1' MINUTE) WITH ('stream' = 'exits');
CREATE TABLE trips (plate VARCHAR(16), entry_plaza INT, exit_plaza INT, minutes BIGINT) WITH ('stream' = 'trips');

INSERT INTO trips
SELECT n.plate, n.entry_plaza, x.exit_plaza, (x.exit_time - n.entry_time) / 60000
FROM entries n JOIN exits x
  ON n.plate = x.plate AND x.exit_time BETWEEN n.entry_time AND n.entry_time + INTERVAL '2' HOUR;
