import { describe, expect, it } from 'vitest';
import { parseJsonArray, parseNdjson, MAX_NATIVE_RECORD_BYTES } from './ingest.ts';

let counter = 0;
const randomPartitionKey = () => `random-${counter++}`;

describe('NDJSON ingest parsing', () => {
  it('keeps the exact bytes of each line and skips blank lines', () => {
    const body = Buffer.from('{"a": 1}\r\n\n   \n\t\n[1, 2]\n"text"');
    const { records, outcomes } = parseNdjson(body, { randomPartitionKey });
    expect(records.map((r) => Buffer.from(r.data).toString())).toEqual(['{"a": 1}', '[1, 2]', '"text"']);
    expect(outcomes).toEqual([0, 1, 2]);
    expect(new Set(records.map((r) => r.partitionKey)).size).toBe(3);
  });

  it('takes partition and idempotency keys from fields, rejecting records without the partition key', () => {
    const body = Buffer.from('{"plate":"AB","tx":7}\n{"tx":8}\n{"plate":"","tx":9}\n{"plate":12}\n');
    const { records, outcomes } = parseNdjson(body, { partitionKeyField: 'plate', idempotencyKeyField: 'tx', randomPartitionKey });
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ partitionKey: 'AB', idempotencyKey: '7' });
    expect(records[1]).toMatchObject({ partitionKey: '12' });
    expect(records[1]?.idempotencyKey).toBeUndefined();
    expect(outcomes[0]).toBe(0);
    expect(outcomes[1]).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(outcomes[2]).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(outcomes[3]).toBe(1);
  });

  it('takes both keys from one field when the partition and idempotency fields are the same', () => {
    const body = Buffer.from('{"tx":"a-1"}\n{"tx":42}\n');
    const { records } = parseNdjson(body, { partitionKeyField: 'tx', idempotencyKeyField: 'tx', randomPartitionKey });
    expect(records.map((r) => [r.partitionKey, r.idempotencyKey])).toEqual([
      ['a-1', 'a-1'],
      ['42', '42'],
    ]);
  });

  it('fails the whole body on an invalid line, naming it', () => {
    expect(() => parseNdjson(Buffer.from('{"ok":1}\n\n{nope}\n'), { randomPartitionKey })).toThrow(
      expect.objectContaining({ code: 'MALFORMED_REQUEST', context: { line: 3 } }),
    );
  });

  it('rejects records over the size limit one by one', () => {
    const big = `"${'x'.repeat(MAX_NATIVE_RECORD_BYTES)}"`;
    const { records, outcomes } = parseNdjson(Buffer.from(`1\n${big}\n2\n`), { randomPartitionKey });
    expect(records).toHaveLength(2);
    expect(outcomes[1]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('JSON array ingest parsing', () => {
  it('turns each element into one record', () => {
    const { records } = parseJsonArray(Buffer.from('[{"a":1}, 2, "three"]'), { randomPartitionKey });
    expect(records.map((r) => Buffer.from(r.data).toString())).toEqual(['{"a":1}', '2', '"three"']);
  });

  it('refuses a body that is not an array', () => {
    expect(() => parseJsonArray(Buffer.from('{"a":1}'), { randomPartitionKey })).toThrow(expect.objectContaining({ code: 'MALFORMED_REQUEST' }));
    expect(() => parseJsonArray(Buffer.from('[1,'), { randomPartitionKey })).toThrow(expect.objectContaining({ code: 'MALFORMED_REQUEST' }));
  });
});
