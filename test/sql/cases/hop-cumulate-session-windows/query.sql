-- The other window table functions over the same passages: HOP (sliding), CUMULATE and SESSION.
CREATE TABLE tolls (
  plate VARCHAR(16),
  amount_cents BIGINT,
  event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time
) WITH ('stream' = 'tolls');

CREATE TABLE hop_out (window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, total BIGINT) WITH ('stream' = 'hop');
CREATE TABLE cumulate_out (window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, total BIGINT) WITH ('stream' = 'cumulate');
CREATE TABLE session_out (plate VARCHAR(16), window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, max_cents BIGINT) WITH ('stream' = 'session');

INSERT INTO hop_out
SELECT window_start, window_end, COUNT(*), SUM(amount_cents)
FROM TABLE(HOP(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '5' MINUTE, INTERVAL '10' MINUTE))
GROUP BY window_start, window_end;

INSERT INTO cumulate_out
SELECT window_start, window_end, COUNT(*), SUM(amount_cents)
FROM TABLE(CUMULATE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '5' MINUTE, INTERVAL '15' MINUTE))
GROUP BY window_start, window_end;

INSERT INTO session_out
SELECT plate, window_start, window_end, COUNT(*), MAX(amount_cents)
FROM TABLE(SESSION(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '4' MINUTE))
GROUP BY plate, window_start, window_end;
