-- fail: SQL_PLAN 3:15 column "amount_cents" is neither in GROUP BY nor inside an aggregate
-- inputs: tolls
SELECT plate, amount_cents, COUNT(*) FROM tolls GROUP BY plate;
