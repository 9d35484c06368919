-- Flink SQL documentation, Queries > Set Operations, EXCEPT: the distinct rows of the first view that the second
-- does not have, and with EXCEPT ALL each as often as the first has it beyond the second:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/sql/queries/set-ops/
-- The right side here is constant rows (VALUES), known when the query is planned; EXCEPT over a stream on the
-- right is refused (test/sql/errors/except-over-stream.sql). The first query's rows go to the stream
-- `result`, the second's to `result_2`.
create view t1(s) as values ('c'), ('a'), ('b'), ('b'), ('c');
create view t2(s) as values ('d'), ('e'), ('a'), ('b'), ('b');

(SELECT s FROM t1) EXCEPT (SELECT s FROM t2);

(SELECT s FROM t1) EXCEPT ALL (SELECT s FROM t2);
