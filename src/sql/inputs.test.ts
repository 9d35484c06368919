import { describe, expect, it } from 'vitest';
import { inferColumns, parseSampleRecord } from './inputs.ts';
import { decimalNumberKeys } from './operators/json-fields.ts';

describe('inferring the columns of an undeclared input', () => {
  it('makes a number written as 1.0 a DOUBLE column, though JSON.parse gives the integer 1', () => {
    const lines = ['{"price": 1.0, "qty": 3, "ratio": 2E0, "name": "a"}', '{"price": 2.0, "qty": 4, "ratio": 1e1, "name": "b"}'];
    expect(inferColumns(lines.map((l) => parseSampleRecord(l))).columns).toEqual([
      { name: 'price', type: 'DOUBLE' },
      { name: 'qty', type: 'BIGINT' },
      { name: 'ratio', type: 'DOUBLE' },
      { name: 'name', type: 'VARCHAR' },
    ]);
    // JSON bytes (a live stream's records) are read the same way.
    expect(inferColumns(lines.map((l) => Buffer.from(l))).columns[0]).toEqual({ name: 'price', type: 'DOUBLE' });
    // Records parsed elsewhere carry no text: a whole number is all that is left of 1.0 there.
    expect(inferColumns(lines.map((l) => JSON.parse(l) as unknown)).columns[0]).toEqual({ name: 'price', type: 'BIGINT' });
  });

  it('leaves out the fields a file run reads as arrival times and partitions', () => {
    const line = '{"k": "a", "_arrival_time": "2026-01-01T10:00:05Z", "_approximate_arrival_time": "2026-01-01T10:00:04Z", "_partition": "p", "_shard": "s"}';
    expect(inferColumns([parseSampleRecord(line)]).columns).toEqual([{ name: 'k', type: 'VARCHAR' }]);
  });

  it('finds the decimal numbers of an object, escaped keys and nested values included', () => {
    expect(decimalNumberKeys(Buffer.from('{"a":1,"b":-0.5,"c\\u0041":3.25,"d":{"e":1.5},"f":[2.5],"g":"1.5"}'))).toEqual(new Set(['b', 'cA']));
    expect(decimalNumberKeys(Buffer.from('[1.5]'))).toBeNull();
    expect(decimalNumberKeys(Buffer.from('{"a":1.}'))).toBeNull();
  });
});
