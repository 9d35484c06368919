-- Flink SQL documentation, Queries > Set Operations, UNION: the distinct rows of two views of constant rows,
-- and all their rows with UNION ALL:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/set-ops/
-- The first query's rows go to the stream `result`, the second's to `result_2`.
create view t1(s) as values ('c'), ('a'), ('b'), ('b'), ('c');
create view t2(s) as values ('d'), ('e'), ('a'), ('b'), ('b');

(SELECT s FROM t1) UNION (SELECT s FROM t2);

(SELECT s FROM t1) UNION ALL (SELECT s FROM t2);
