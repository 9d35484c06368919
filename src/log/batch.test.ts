import { describe, expect, it } from 'vitest';
import { BATCH_HEADER_BYTES, checkBatch, encodeBatch, forEachRecord, setBaseOffset } from './batch.ts';
import type { DecodedRecord } from './batch.ts';

function decodeAll(buf: Buffer): DecodedRecord[] {
  const check = checkBatch(buf, 0, buf.length, true);
  if (!check.ok) throw new Error(check.detail);
  const out: DecodedRecord[] = [];
  forEachRecord(buf, 0, check.header, (r) => (out.push(r), true));
  return out;
}

describe('batch encoding', () => {
  it('round-trips records with every optional field, non-ASCII keys and empty data', () => {
    const records = [
      { partitionKey: 'plate-AB123', data: Buffer.from('{"a":1}') },
      { partitionKey: 'Zürich→Bern', data: new Uint8Array(0), explicitHashKey: (1n << 128n) - 1n },
      { partitionKey: 'k'.repeat(256), data: Buffer.alloc(70_000, 7), idempotencyKey: 'tx-ü-1' },
      { partitionKey: 'x', data: Buffer.from([1, 2, 3]), explicitHashKey: 0n, idempotencyKey: 'i' },
    ];
    const batch = encodeBatch(records, 1_700_000_000_123);
    setBaseOffset(batch, 42);
    const out = decodeAll(batch);
    expect(out.map((r) => r.offset)).toEqual([42, 43, 44, 45]);
    expect(out.map((r) => r.partitionKey)).toEqual(records.map((r) => r.partitionKey));
    expect(out[1]!.explicitHashKey).toBe(((1n << 128n) - 1n).toString());
    expect(out[3]!.explicitHashKey).toBe('0');
    expect(out[0]!.explicitHashKey).toBeUndefined();
    expect(out[2]!.idempotencyKey).toBe('tx-ü-1');
    expect(Buffer.from(out[2]!.data).equals(Buffer.alloc(70_000, 7))).toBe(true);
    expect(out[1]!.data.length).toBe(0);
    expect(out.every((r) => r.arrivalTime === 1_700_000_000_123)).toBe(true);
  });

  it('keeps the checksum valid when the base offset is stamped later', () => {
    const batch = encodeBatch([{ partitionKey: 'p', data: Buffer.from('x') }], 1);
    setBaseOffset(batch, 2 ** 40);
    const check = checkBatch(batch, 0, batch.length, true);
    expect(check.ok && check.header.baseOffset).toBe(2 ** 40);
  });

  it('reports a flipped byte as invalid and a short buffer as truncated', () => {
    const batch = encodeBatch([{ partitionKey: 'p', data: Buffer.from('hello world') }], 1);
    const flipped = Buffer.from(batch);
    flipped[flipped.length - 3]! ^= 0x40;
    expect(checkBatch(flipped, 0, flipped.length, true)).toMatchObject({ ok: false, reason: 'invalid' });
    expect(checkBatch(batch, 0, batch.length - 1, true)).toMatchObject({ ok: false, reason: 'truncated' });
    expect(checkBatch(batch, 0, BATCH_HEADER_BYTES - 1, true)).toMatchObject({ ok: false, reason: 'truncated' });
  });
});
