import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import { describe, expect, it } from 'vitest';
import { encodeEventMessage, eventMessage, exceptionMessage } from './event-stream.ts';

// The AWS SDK's own decoder: it checks both CRCs and the lengths.
const codec = new EventStreamCodec(toUtf8, fromUtf8);

describe('event-stream encoder', () => {
  it('writes messages the SDK decoder reads back, headers and payload intact', () => {
    const payload = Buffer.from('{"Records":[]}');
    const decoded = codec.decode(eventMessage('SubscribeToShardEvent', 'application/json', payload));
    expect(decoded.headers).toEqual({
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: 'SubscribeToShardEvent' },
      ':content-type': { type: 'string', value: 'application/json' },
    });
    expect(Buffer.from(decoded.body).toString()).toBe('{"Records":[]}');

    const ex = codec.decode(exceptionMessage('ResourceNotFoundException', 'application/json', Buffer.from('{"message":"gone"}')));
    expect(ex.headers[':exception-type']?.value).toBe('ResourceNotFoundException');
    expect(ex.headers[':message-type']?.value).toBe('exception');
  });

  it('handles an empty payload, no headers and multi-byte text', () => {
    const empty = codec.decode(encodeEventMessage({}, new Uint8Array(0)));
    expect(empty.headers).toEqual({});
    expect(empty.body.length).toBe(0);
    const text = codec.decode(encodeEventMessage({ ':event-type': 'péage' }, Buffer.from('✓')));
    expect(text.headers[':event-type']?.value).toBe('péage');
    expect(Buffer.from(text.body).toString()).toBe('✓');
  });

  it('lays out the prelude as the format says: total length, headers length', () => {
    const message = encodeEventMessage({ ab: 'xyz' }, Buffer.from([1, 2, 3]));
    const headerBytes = 1 + 2 + 1 + 2 + 3;
    expect(message.readUInt32BE(0)).toBe(message.length);
    expect(message.readUInt32BE(4)).toBe(headerBytes);
    expect(message.length).toBe(12 + headerBytes + 3 + 4);
    expect([...message.subarray(12 + headerBytes, 12 + headerBytes + 3)]).toEqual([1, 2, 3]);
  });

  it('a flipped byte anywhere is caught by the decoder (both CRCs are right, so they guard)', () => {
    const message = eventMessage('SubscribeToShardEvent', 'application/json', Buffer.from('{"a":1}'));
    for (const at of [2, 9, 20, message.length - 6, message.length - 1]) {
      const damaged = Buffer.from(message);
      damaged[at]! ^= 0x10;
      expect(() => codec.decode(damaged), `byte ${at}`).toThrow();
    }
  });
});
