import { describe, expect, it } from 'vitest';
import type { QueryStmt } from '../ast/index.ts';
import { parseSql } from '../parser/index.ts';
import { compileExpr } from './compile.ts';
import { Scope } from './scope.ts';
import type { Row, Value } from './types.ts';

const scope = new Scope([
  { name: 'j', type: 'VARCHAR', qualifier: 't', hidden: false },
  { name: 'n', type: 'BIGINT', qualifier: 't', hidden: false },
  { name: 'ts', type: 'TIMESTAMP', qualifier: 't', hidden: false },
]);

function compiled(expr: string, dialect: 'flink' | 'kinesis' = 'flink') {
  const q = (parseSql(`SELECT ${expr} FROM t`).statements[0] as QueryStmt).query;
  const item = q.items[0]!;
  if (item.kind !== 'item') throw new Error('no expression');
  return compileExpr(item.expr, { scope, now: () => 0, dialect });
}
const evaluate = (expr: string, row: Row = [null, null, null]): Value => compiled(expr).fn(row);

describe("Flink's JSON functions", () => {
  it('IS JSON tells JSON text of each kind, NULL being none', () => {
    expect(["'1' IS JSON", "'[]' IS JSON", "'{}' IS JSON", `'"abc"' IS JSON`, "'abc' IS JSON", 'j IS JSON'].map((e) => evaluate(e))).toEqual([true, true, true, true, false, false]);
    expect(["'1' IS JSON SCALAR", "'1' IS JSON OBJECT", "'{}' IS JSON SCALAR", "'{}' IS JSON ARRAY", "'{}' IS JSON OBJECT", "'[]' IS JSON ARRAY"].map((e) => evaluate(e))).toEqual([true, false, false, false, true, true]);
    expect(evaluate("'abc' IS NOT JSON")).toBe(true);
    expect(evaluate("'[1]' IS NOT JSON ARRAY")).toBe(false);
  });

  it('JSON_EXISTS follows the documented examples and its ON ERROR', () => {
    expect(evaluate(`JSON_EXISTS('{"a": true}', '$.a')`)).toBe(true);
    expect(evaluate(`JSON_EXISTS('{"a": true}', '$.b')`)).toBe(false);
    expect(evaluate(`JSON_EXISTS('{"a": [{ "b": 1 }]}', '$.a[0].b')`)).toBe(true);
    expect(evaluate(`JSON_EXISTS('{"a": true}', 'strict $.b' TRUE ON ERROR)`)).toBe(true);
    expect(evaluate(`JSON_EXISTS('{"a": true}', 'strict $.b' FALSE ON ERROR)`)).toBe(false);
    expect(evaluate(`JSON_EXISTS('{"a": true}', 'strict $.b' UNKNOWN ON ERROR)`)).toBeNull();
    expect(() => evaluate(`JSON_EXISTS('{"a": true}', 'strict $.b' ERROR ON ERROR)`)).toThrow("no member 'b'");
    expect(evaluate("JSON_EXISTS(j, '$.a')")).toBeNull();
  });

  it('JSON_VALUE gives the scalar as the RETURNING type, with ON EMPTY and ON ERROR', () => {
    expect(evaluate(`JSON_VALUE('{"a": true}', '$.a')`)).toBe('true');
    expect(evaluate(`JSON_VALUE('{"a": true}', '$.a' RETURNING BOOLEAN)`)).toBe(true);
    expect(evaluate(`JSON_VALUE('{"a": true}', 'lax $.b' DEFAULT FALSE ON EMPTY)`)).toBe('false');
    expect(evaluate(`JSON_VALUE('{"a": true}', 'strict $.b' DEFAULT FALSE ON ERROR)`)).toBe('false');
    expect(evaluate(`JSON_VALUE('{"a.b": [0.998,0.996]}', '$.["a.b"][0]' RETURNING DOUBLE)`)).toBe(0.998);
    expect(compiled(`JSON_VALUE(j, '$.n' RETURNING INT)`).type).toBe('BIGINT');
    expect(evaluate(`JSON_VALUE(j, '$.n' RETURNING INT)`, ['{"n": 42}', null, null])).toBe(42);
    expect(evaluate(`JSON_VALUE(j, '$.n' RETURNING INT DEFAULT -1 ON ERROR)`, ['{"n": "x"}', null, null])).toBe(-1);
    expect(evaluate(`JSON_VALUE(j, '$.n')`, ['{"n": {"m": 1}}', null, null])).toBeNull();
    expect(evaluate(`JSON_VALUE(j, '$.n')`, ['{"n": null}', null, null])).toBeNull();
    expect(evaluate(`JSON_VALUE(j, '$.n' NULL ON EMPTY DEFAULT 'bad' ON ERROR)`, ['not json', null, null])).toBe('bad');
    expect(() => evaluate(`JSON_VALUE(j, '$.n' ERROR ON EMPTY)`, ['{}', null, null])).toThrow('the path selects nothing');
    expect(evaluate(`JSON_VALUE(j, '$.a[*].b' DEFAULT 'many' ON ERROR)`, ['{"a": [{"b": 1}, {"b": 2}]}', null, null])).toBe('many');
    // Lax mode gives nothing for a member of an array, as Flink's path engine does (no unwrapping).
    expect(evaluate(`JSON_VALUE(j, '$.a.b')`, ['{"a": [{"b": 7}]}', null, null])).toBeNull();
    expect(evaluate(`JSON_VALUE(j, '$.a[0].b')`, ['{"a": [{"b": 7}]}', null, null])).toBe('7');
    expect(evaluate("JSON_VALUE(j, '$.a')")).toBeNull();
  });

  it('JSON_QUERY gives JSON text, wrapped as asked, with ON EMPTY and ON ERROR', () => {
    expect(evaluate(`JSON_QUERY('{ "a": { "b": 1 } }', '$.a')`)).toBe('{"b":1}');
    expect(evaluate("JSON_QUERY('[1, 2]', '$')")).toBe('[1,2]');
    expect(evaluate("JSON_QUERY(CAST(NULL AS STRING), '$')")).toBeNull();
    expect(evaluate(`JSON_QUERY('"foo"', '$' WITH CONDITIONAL ARRAY WRAPPER)`)).toBe('["foo"]');
    expect(evaluate("JSON_QUERY('{}', '$' WITH CONDITIONAL ARRAY WRAPPER)")).toBe('[{}]');
    expect(evaluate("JSON_QUERY('[1, 2]', '$' WITH CONDITIONAL ARRAY WRAPPER)")).toBe('[1,2]');
    expect(evaluate("JSON_QUERY('[1, 2]', '$' WITH UNCONDITIONAL ARRAY WRAPPER)")).toBe('[[1,2]]');
    expect(evaluate("JSON_QUERY('1', '$')")).toBeNull();
    expect(evaluate("JSON_QUERY('1', '$' WITH CONDITIONAL ARRAY WRAPPER)")).toBe('[1]');
    expect(evaluate("JSON_QUERY('{}', 'lax $.invalid')")).toBeNull();
    expect(evaluate("JSON_QUERY('{}', 'lax $.invalid' EMPTY OBJECT ON EMPTY)")).toBe('{}');
    expect(evaluate("JSON_QUERY('{}', 'strict $.invalid')")).toBeNull();
    expect(evaluate("JSON_QUERY('{}', 'strict $.invalid' EMPTY ARRAY ON ERROR)")).toBe('[]');
    expect(evaluate(`JSON_QUERY('{"a": [1, 2]}', '$.a[*]' WITH ARRAY WRAPPER)`)).toBe('[[1,2]]');
    expect(evaluate(`JSON_QUERY('{"a": [1, 2]}', '$.a[*]' WITH CONDITIONAL ARRAY WRAPPER)`)).toBe('[1,2]');
    expect(evaluate(`JSON_QUERY('{"a": [{"b": 1}, {"b": 2}]}', '$.a[*].b')`)).toBe('[1,2]');
  });

  it('JSON_STRING, JSON_OBJECT and JSON_ARRAY write JSON text, nested constructors as JSON', () => {
    expect([evaluate('JSON_STRING(1)'), evaluate('JSON_STRING(TRUE)'), evaluate("JSON_STRING('Hello, World!')"), evaluate('JSON_STRING(n)')]).toEqual(['1', 'true', '"Hello, World!"', null]);
    expect(evaluate('JSON_STRING(ts)', [null, null, Date.UTC(2026, 2, 2)])).toBe('"2026-03-02T00:00:00.000Z"');
    expect(evaluate('JSON_OBJECT()')).toBe('{}');
    expect(evaluate("JSON_OBJECT('K1' VALUE 'V1')")).toBe('{"K1":"V1"}');
    expect(evaluate("JSON_OBJECT(KEY 'K1' VALUE 1)")).toBe('{"K1":1}');
    expect(evaluate("JSON_OBJECT(KEY 'K1' VALUE NULL ABSENT ON NULL)")).toBe('{}');
    expect(evaluate("JSON_OBJECT(KEY 'K1' VALUE NULL NULL ON NULL)")).toBe('{"K1":null}');
    expect(evaluate("JSON_OBJECT(KEY 'K1' VALUE NULL)")).toBe('{"K1":null}');
    expect(evaluate("JSON_OBJECT('K1' VALUE JSON_OBJECT('K2' VALUE 'V'))")).toBe('{"K1":{"K2":"V"}}');
    expect(evaluate("JSON_OBJECT('K1' VALUE JSON_ARRAY(1, 2))")).toBe('{"K1":[1,2]}');
    expect(evaluate('JSON_ARRAY()')).toBe('[]');
    expect(evaluate("JSON_ARRAY(1, '2')")).toBe('[1,"2"]');
    expect(evaluate('JSON_ARRAY(1, NULL)')).toBe('[1]');
    expect(evaluate('JSON_ARRAY(1, NULL NULL ON NULL)')).toBe('[1,null]');
    expect(evaluate('JSON_ARRAY(JSON_ARRAY(1))')).toBe('[[1]]');
  });

  it('refuses a wrong argument count or type when planned, and exists only in the Flink dialect', () => {
    expect(() => compiled("JSON_EXISTS(n, '$.a')")).toThrow("JSON_EXISTS's argument 1 must be text, this is BIGINT");
    expect(() => compiled("JSON_STRING(1, 2)")).toThrow('JSON_STRING takes 1 argument(s), got 2');
    expect(() => compiled("JSON_VALUE(j, '$.a' RETURNING TIMESTAMP)")).toThrow('JSON_VALUE cannot return TIMESTAMP');
    expect(() => compiled('n IS JSON')).toThrow("IS JSON's argument 1 must be text");
    expect(() => compiled("JSON_VALUE(j, '$.a')", 'kinesis')).toThrow('unknown function JSON_VALUE');
  });
});
