-- INTERSECT of two streams: a plate seen at both plazas leaves once, when the second plaza sees it, with that
-- row's ROWTIME; INTERSECT ALL lets the n-th pass leave once both plazas saw the plate n times. Rows never leave
-- and come back (append-only), whatever the order rows arrive in across the two inputs. A BIGINT column meets
-- a DOUBLE one as DOUBLE. INTERSECT binds tighter than UNION ALL.
CREATE TABLE east (plate VARCHAR(16), axles BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'east');
CREATE TABLE west (plate VARCHAR(16), axles DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'west');
CREATE TABLE both_plazas (plate VARCHAR(16), axles DOUBLE) WITH ('stream' = 'both_plazas');
CREATE TABLE pairs (plate VARCHAR(16), axles DOUBLE) WITH ('stream' = 'pairs');

INSERT INTO both_plazas
SELECT plate, axles FROM east INTERSECT SELECT plate, axles FROM west;

INSERT INTO pairs
SELECT plate, axles FROM east INTERSECT ALL SELECT plate, axles FROM west
UNION ALL
SELECT 'TOTAL', 0 FROM east WHERE plate = 'Z9';
