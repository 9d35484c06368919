import { describe, expect, it } from 'vitest';
import { compareSequenceNumbers, formatSequenceNumber, parseSequenceNumber, SEQUENCE_LENGTH } from './sequence.ts';

describe('sequence numbers', () => {
  it('are fixed-width decimals that order like their offsets, as strings and as big integers', () => {
    const offsets = [0, 1, 9, 10, 99, 100, 123_456_789, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const seqs = offsets.map((o) => formatSequenceNumber(7, o));
    for (const s of seqs) {
      expect(s).toHaveLength(SEQUENCE_LENGTH);
      expect(s).toMatch(/^[1-9]\d+$/);
      expect(BigInt(s).toString()).toBe(s);
    }
    for (let i = 1; i < seqs.length; i++) {
      expect(seqs[i - 1]! < seqs[i]!).toBe(true);
      expect(BigInt(seqs[i - 1]!) < BigInt(seqs[i]!)).toBe(true);
    }
  });

  it('round-trip shard index and offset', () => {
    expect(parseSequenceNumber(formatSequenceNumber(12, 345))).toEqual({ shardIndex: 12, offset: 345 });
    expect(formatSequenceNumber(1, 0) > formatSequenceNumber(0, 10 ** 15)).toBe(true);
  });

  it('reject text that is not one', () => {
    for (const bad of ['', '123', 'x'.repeat(30), formatSequenceNumber(0, 1) + '0', '5' + '0'.repeat(29)]) {
      expect(() => parseSequenceNumber(bad), bad).toThrow(/not a sequence number/);
    }
  });

  it('compare numerically across widths', () => {
    expect(compareSequenceNumbers('9', '10')).toBe(-1);
    expect(compareSequenceNumbers('49590338271490256608559692538361571095921575989136588898', '49590338271490256608559692538361571095921575989136588898')).toBe(0);
    expect(compareSequenceNumbers(formatSequenceNumber(0, 5), formatSequenceNumber(0, 4))).toBe(1);
  });
});
