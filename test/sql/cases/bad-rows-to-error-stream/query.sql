-- Rows that cannot be read or computed go to the error stream with the pump's name; the others flow on.
-- The source's columns are declared (in Kinesis Analytics they come from the input schema).
CREATE OR REPLACE STREAM "SOURCE_SQL_STREAM_001" ("plate" VARCHAR(16), "amount_cents" BIGINT, "axles" INTEGER, "weight" VARCHAR(8));
CREATE OR REPLACE STREAM "PER_AXLE" ("plate" VARCHAR(16), "cents_per_axle" BIGINT, "weight_kg" INTEGER);

CREATE OR REPLACE PUMP "AXLE_PUMP" AS
  INSERT INTO "PER_AXLE"
  SELECT STREAM "plate", "amount_cents" / "axles", CAST("weight" AS INTEGER)
  FROM "SOURCE_SQL_STREAM_001";
