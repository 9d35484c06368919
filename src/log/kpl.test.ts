import { describe, expect, it } from 'vitest';
import { aggregateWithBadDigest, aggregateWithBrokenProtobuf, encodeAggregate } from '../../test/support/kpl-aggregate.ts';
import { deaggregate, isKplAggregate } from './kpl.ts';
import type { StoredRecord } from './types.ts';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

function stored(data: Uint8Array): StoredRecord {
  return { sequenceNumber: '49000000000000000000000000000000000000000000000000000123', partitionKey: 'outer', data, arrivalTime: 1_700_000_000_000 };
}

describe('KPL aggregated records', () => {
  it('expands an aggregate into its user records with their own keys and sub-sequence numbers', () => {
    const data = encodeAggregate([
      { partitionKey: 'plate-1', data: '{"n":1}' },
      { partitionKey: 'plate-2', explicitHashKey: '170141183460469231731687303715884105728', data: '{"n":2}' },
      { partitionKey: 'plate-1', data: '{"n":3}' },
    ]);
    expect(isKplAggregate(data)).toBe(true);
    const result = deaggregate(stored(data));
    if (!result.ok) throw new Error(result.reason);
    expect(result.records.map((r) => [r.partitionKey, r.explicitHashKey, r.subSequenceNumber, text(r.data), r.sequenceNumber, r.arrivalTime])).toEqual([
      ['plate-1', undefined, 0, '{"n":1}', stored(data).sequenceNumber, 1_700_000_000_000],
      ['plate-2', '170141183460469231731687303715884105728', 1, '{"n":2}', stored(data).sequenceNumber, 1_700_000_000_000],
      ['plate-1', undefined, 2, '{"n":3}', stored(data).sequenceNumber, 1_700_000_000_000],
    ]);
  });

  it('reads user records larger than 127 bytes (multi-byte lengths)', () => {
    const big = 'x'.repeat(70_000);
    const result = deaggregate(stored(encodeAggregate([{ partitionKey: 'k', data: big }, { partitionKey: 'k', data: '' }])));
    if (!result.ok) throw new Error(result.reason);
    expect(result.records.map((r) => r.data.length)).toEqual([70_000, 0]);
  });

  it('leaves ordinary records alone: JSON, and short data that starts with the magic bytes', () => {
    expect(isKplAggregate(Buffer.from('{"plate":"ABC"}'))).toBe(false);
    expect(isKplAggregate(Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 1, 2, 3]))).toBe(false);
  });

  it('names a digest mismatch', () => {
    const result = deaggregate(stored(aggregateWithBadDigest([{ partitionKey: 'k', data: 'a' }])));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('MD5') });
  });

  it('names protobuf bytes that do not parse', () => {
    const result = deaggregate(stored(aggregateWithBrokenProtobuf()));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('protobuf cannot be read') });
  });
});
