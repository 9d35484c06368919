-- EXCEPT with constant rows on the right, over a stream on the left: a plate leaves the first time it passes
-- unless the list has it; with EXCEPT ALL, the n-th pass of a plate leaves when the list has it fewer than n
-- times. The list is known when the query is planned, so rows leave as they pass (append-only). EXCEPT
-- takes in the UNION ALL before it.
CREATE TABLE tolls (plate VARCHAR(16), ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'tolls');
CREATE TABLE extra (plate VARCHAR(16), ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'extra');
CREATE TABLE unlisted (plate VARCHAR(16)) WITH ('stream' = 'unlisted');
CREATE TABLE over_allowance (plate VARCHAR(16)) WITH ('stream' = 'over_allowance');

INSERT INTO unlisted
SELECT plate FROM tolls UNION ALL SELECT plate FROM extra
EXCEPT
SELECT * FROM (VALUES ('A1'), ('B2')) AS listed(plate);

INSERT INTO over_allowance
SELECT plate FROM tolls EXCEPT ALL VALUES ('A1'), ('A1'), ('C3');
