/**
 * Kinesis shard iterators: opaque tokens naming a stream, a shard, a position and when they were issued,
 * signed with an HMAC so a client can neither forge nor alter one. They expire after five minutes, as
 * Kinesis' do.
 */
import crypto from 'node:crypto';
import { TollstreamError } from '../../core/errors.ts';
import type { StartPosition } from '../../log/index.ts';

/** How long an iterator stays valid, in ms. */
export const ITERATOR_TTL_MS = 5 * 60 * 1000;
const VERSION = 1;
const MAC_BYTES = 18;

export interface ShardIterator {
  readonly stream: string;
  readonly shardId: string;
  readonly position: StartPosition;
  /** ms since the epoch. */
  readonly issuedAt: number;
}

export interface IteratorCodec {
  encode(stream: string, shardId: string, position: StartPosition): string;
  /** Throws ITERATOR_INVALID for a token this server did not issue, ITERATOR_EXPIRED for an old one. */
  decode(token: string): ShardIterator;
}

export function createIteratorCodec(secret: string | Buffer, now: () => number = Date.now): IteratorCodec {
  const mac = (payload: string) => crypto.createHmac('sha256', secret).update(payload).digest().subarray(0, MAC_BYTES).toString('base64url');
  const iteratorInvalid = () =>
    new TollstreamError('ITERATOR_INVALID', 'the shard iterator is not one this server issued (or was altered); get a new one with GetShardIterator');

  return {
    encode(stream, shardId, position) {
      const value = position.type === 'AT_TIMESTAMP' ? position.timestamp : 'sequenceNumber' in position ? position.sequenceNumber : null;
      const payload = Buffer.from(JSON.stringify([VERSION, stream, shardId, position.type, value, now()])).toString('base64url');
      return `${payload}.${mac(payload)}`;
    },
    decode(token) {
      const dot = token.indexOf('.');
      if (dot <= 0 || token.length > 2048) throw iteratorInvalid();
      const payload = token.slice(0, dot);
      // Compared as text: base64 decoding would ignore trailing junk.
      const given = Buffer.from(token.slice(dot + 1));
      const expected = Buffer.from(mac(payload));
      if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) throw iteratorInvalid();
      let fields: unknown;
      try {
        fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        throw iteratorInvalid();
      }
      if (!Array.isArray(fields) || fields[0] !== VERSION) throw iteratorInvalid();
      const [, stream, shardId, type, value, issuedAt] = fields as [number, string, string, StartPosition['type'], string | number | null, number];
      if (now() - issuedAt > ITERATOR_TTL_MS) {
        throw new TollstreamError('ITERATOR_EXPIRED', 'the shard iterator expired (they last 5 minutes); get a new one with GetShardIterator', {
          context: { stream, shardId },
        });
      }
      return { stream, shardId, position: toPosition(type, value), issuedAt };
    },
  };
}

function toPosition(type: StartPosition['type'], value: string | number | null): StartPosition {
  switch (type) {
    case 'TRIM_HORIZON':
    case 'LATEST':
      return { type };
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER':
      return { type, sequenceNumber: String(value) };
    case 'AT_TIMESTAMP':
      return { type, timestamp: Number(value) };
  }
}
