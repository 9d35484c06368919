-- UNION (without ALL) of two streams and a VALUES row: each distinct row leaves once, the first time any branch
-- brings it (SELECT DISTINCT over the UNION ALL), whichever branch and however late; a later UNION ALL branch
-- keeps its repeats. VALUES stands as a query of its own too, in INSERT INTO ... VALUES.
CREATE TABLE east (plate VARCHAR(16), plaza INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'east');
CREATE TABLE west (plate VARCHAR(16), plaza INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'west');
CREATE TABLE seen (plate VARCHAR(16), plaza INT) WITH ('stream' = 'seen');
CREATE TABLE notes (id INT, note VARCHAR(8)) WITH ('stream' = 'notes');

INSERT INTO seen
SELECT plate, plaza FROM east
UNION
SELECT plate, plaza FROM west
UNION
VALUES ('V1', 9)
UNION ALL
SELECT plate, plaza FROM west WHERE plate = 'W2';

INSERT INTO notes VALUES (1, 'one'), (2, 'two');
