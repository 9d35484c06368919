-- Kinesis Data Analytics SQL Reference, JOIN clause, Stream-to-Stream Join Examples: the sample data set (order
-- and shipment records in one source stream, {"orderid":"101","orders":"1"} and {"orderid":"101",
-- "shipments":"2"}) and the ORDERS_STREAM and SHIPMENTS_STREAM the examples pump them into:
-- https://docs.aws.amazon.com/kinesisanalytics/latest/sqlref/sql-reference-join-clause.html
-- The source's column types are the application's input schema, declared here. The join is ours, in the form
-- the page defines (a time window on one side, the other side's current row only), with the window on the
-- orders: an order joins the shipments of its orderid that arrive at its time or less than a minute after it.
-- The output's ROWTIME is the later of the two rows' (the shipment's). The rows besides order and shipment 101
-- are our own: 102's shipment comes exactly a minute later (the order has left the window), 103's at the
-- same time, 104's before its order, and 105 has two shipments.
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" ("orderid" INTEGER, "orders" INTEGER, "shipments" INTEGER);

CREATE OR REPLACE STREAM "ORDERS_STREAM" ("orderid" int, "orderrowtime" timestamp);
CREATE OR REPLACE PUMP "ORDERS_STREAM_PUMP" AS INSERT INTO "ORDERS_STREAM"
SELECT STREAM "orderid", "ROWTIME"
FROM "SOURCE_SQL_STREAM_001" WHERE "orders" = 1;

CREATE OR REPLACE STREAM "SHIPMENTS_STREAM" ("orderid" int, "shipmentrowtime" timestamp);
CREATE OR REPLACE PUMP "SHIPMENTS_STREAM_PUMP" AS INSERT INTO "SHIPMENTS_STREAM"
SELECT STREAM "orderid", "ROWTIME"
FROM "SOURCE_SQL_STREAM_001" WHERE "shipments" = 2;

CREATE OR REPLACE STREAM "OUTPUT_STREAM" ("resultrowtime" timestamp, "orderid" int, "shipmenttime" timestamp, "ordertime" timestamp);
CREATE OR REPLACE PUMP "OUTPUT_STREAM_PUMP" AS INSERT INTO "OUTPUT_STREAM"
SELECT STREAM ROWTIME AS "resultrowtime", s."orderid", s.ROWTIME AS "shipmenttime", o.ROWTIME AS "ordertime"
FROM "ORDERS_STREAM" OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o
JOIN "SHIPMENTS_STREAM" AS s
ON o."orderid" = s."orderid";
