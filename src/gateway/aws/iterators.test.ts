import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../core/errors.ts';
import { createIteratorCodec, ITERATOR_TTL_MS } from './iterators.ts';

describe('shard iterators', () => {
  it('round-trips every position type', () => {
    const codec = createIteratorCodec('secret');
    for (const position of [
      { type: 'TRIM_HORIZON' },
      { type: 'LATEST' },
      { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '49590338271490256608559692538361571095921575989136588898' },
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: '1' },
      { type: 'AT_TIMESTAMP', timestamp: 1_700_000_000_123 },
    ] as const) {
      const decoded = codec.decode(codec.encode('tolls', 'shardId-000000000001', position));
      expect(decoded).toMatchObject({ stream: 'tolls', shardId: 'shardId-000000000001', position });
    }
  });

  it('refuses iterators signed with another secret or altered', () => {
    const token = createIteratorCodec('secret').encode('tolls', 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    const other = createIteratorCodec('other');
    const expectInvalid = (fn: () => unknown) => {
      try {
        fn();
        expect.unreachable();
      } catch (err) {
        expect(isTollstreamError(err, 'ITERATOR_INVALID')).toBe(true);
      }
    };
    expectInvalid(() => other.decode(token));
    const codec = createIteratorCodec('secret');
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify([1, 'other-stream', 'shardId-000000000000', 'TRIM_HORIZON', null, Date.now()])).toString('base64url');
    expectInvalid(() => codec.decode(`${forged}.${mac}`));
    expectInvalid(() => codec.decode(`${payload}.${mac}A`));
    expectInvalid(() => codec.decode(''));
    expectInvalid(() => codec.decode('no-dot'));
  });

  it('expires after five minutes', () => {
    let now = 1_000_000;
    const codec = createIteratorCodec('secret', () => now);
    const token = codec.encode('tolls', 'shardId-000000000000', { type: 'LATEST' });
    now += ITERATOR_TTL_MS;
    expect(codec.decode(token).issuedAt).toBe(1_000_000);
    now += 1;
    expect(() => codec.decode(token)).toThrow(expect.objectContaining({ code: 'ITERATOR_EXPIRED' }));
  });
});
