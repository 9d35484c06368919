-- Flink SQL documentation, Functions > System (Built-in) Functions: JSON Functions, the examples of the
-- entries IS JSON, JSON_EXISTS, JSON_STRING, JSON_VALUE, JSON_QUERY, JSON_OBJECT and JSON_ARRAY:
-- https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/table/functions/systemfunctions/
-- '{}' IS JSON OBJECT is TRUE and '{}' IS JSON ARRAY FALSE; JSON_EXISTS('{"a": [{ "b": 1 }]}', '$.a[0].b') is
-- TRUE; JSON_STRING('Hello, World!') is '"Hello, World!"'; JSON_VALUE('{"a": true}', '$.a' RETURNING BOOLEAN)
-- is TRUE and JSON_VALUE('{"a": true}', 'strict $.b' DEFAULT FALSE ON ERROR) 'false';
-- JSON_QUERY('{ "a": { "b": 1 } }', '$.a') is '{"b":1}' and JSON_QUERY('"foo"', '$' WITH CONDITIONAL ARRAY
-- WRAPPER) '["foo"]'; JSON_OBJECT('K1' VALUE JSON_OBJECT('K2' VALUE 'V')) is '{"K1":{"K2":"V"}}';
-- JSON_ARRAY(1, '2') is '[1,"2"]'.
-- The rows are our own: toll records' JSON payloads, one not JSON, one without the field, one NULL.
CREATE TABLE payloads (id BIGINT, body VARCHAR(256));

SELECT id,
  '{}' IS JSON OBJECT AS documented_is_object,
  '{}' IS JSON ARRAY AS documented_is_array,
  JSON_EXISTS('{"a": [{ "b": 1 }]}', '$.a[0].b') AS documented_exists,
  JSON_STRING('Hello, World!') AS documented_string,
  JSON_VALUE('{"a": true}', '$.a' RETURNING BOOLEAN) AS documented_value,
  JSON_VALUE('{"a": true}', 'strict $.b' DEFAULT FALSE ON ERROR) AS documented_default,
  JSON_QUERY('{ "a": { "b": 1 } }', '$.a') AS documented_query,
  JSON_QUERY('"foo"', '$' WITH CONDITIONAL ARRAY WRAPPER) AS documented_wrapped,
  JSON_OBJECT('K1' VALUE JSON_OBJECT('K2' VALUE 'V')) AS documented_object,
  JSON_ARRAY(1, '2') AS documented_array,
  body IS JSON AS valid,
  JSON_VALUE(body, '$.plate') AS plate,
  JSON_VALUE(body, '$.amount_cents' RETURNING BIGINT DEFAULT 0 ON EMPTY DEFAULT -1 ON ERROR) AS cents,
  JSON_EXISTS(body, '$.axles') AS has_axles,
  JSON_QUERY(body, '$.axles' WITH CONDITIONAL ARRAY WRAPPER) AS axles,
  JSON_OBJECT('id' VALUE id, 'plate' VALUE JSON_VALUE(body, '$.plate') ABSENT ON NULL) AS summary
FROM payloads;
