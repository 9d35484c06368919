-- fail: SQL_PLAN 6:1 this aggregation reads the output of a GROUP BY without a window, whose rows are updates
-- inputs: tolls
CREATE VIEW per_plate AS
SELECT plate, SUM(amount_cents) AS total FROM tolls GROUP BY plate;

SELECT COUNT(*) FROM per_plate WHERE total > 100;
