/**
 * The AWS event-stream framing (`application/vnd.amazon.eventstream`), in which SubscribeToShard answers:
 * a sequence of binary messages, each
 *
 *   total length (u32) | headers length (u32) | CRC32 of those 8 bytes (u32) | headers | payload | CRC32 of all before (u32)
 *
 * big-endian, CRC32 the IEEE polynomial (zlib's). A header is its name's length (u8), the name, a value type
 * (u8; 7 is a string) and, for a string, its length (u16) and UTF-8 bytes. Only string headers are written.
 */
import { crc32 } from 'node:zlib';

const PRELUDE_BYTES = 8;
const CRC_BYTES = 4;
const STRING_TYPE = 7;

/** One message: string headers (`:message-type`, `:event-type`, ...) and a payload. */
export function encodeEventMessage(headers: Readonly<Record<string, string>>, payload: Uint8Array): Buffer {
  const encoded: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    if (nameBytes.length > 0xff || valueBytes.length > 0xffff) throw new RangeError(`event-stream header '${name.slice(0, 40)}' is too long`);
    const header = Buffer.allocUnsafe(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    header.writeUInt8(nameBytes.length, 0);
    nameBytes.copy(header, 1);
    header.writeUInt8(STRING_TYPE, 1 + nameBytes.length);
    header.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
    valueBytes.copy(header, 4 + nameBytes.length);
    encoded.push(header);
  }
  const headersLength = encoded.reduce((n, h) => n + h.length, 0);
  const total = PRELUDE_BYTES + CRC_BYTES + headersLength + payload.length + CRC_BYTES;
  const message = Buffer.allocUnsafe(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headersLength, 4);
  message.writeUInt32BE(crc32(message.subarray(0, PRELUDE_BYTES)), PRELUDE_BYTES);
  let at = PRELUDE_BYTES + CRC_BYTES;
  for (const h of encoded) at += h.copy(message, at);
  at += Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(message, at);
  message.writeUInt32BE(crc32(message.subarray(0, at)), at);
  return message;
}

/** An event of the stream's protocol (`:message-type event`). */
export function eventMessage(eventType: string, contentType: string, payload: Uint8Array): Buffer {
  return encodeEventMessage({ ':message-type': 'event', ':event-type': eventType, ':content-type': contentType }, payload);
}

/** A modelled error inside the stream (`:message-type exception`), e.g. ResourceNotFoundException. */
export function exceptionMessage(exceptionType: string, contentType: string, payload: Uint8Array): Buffer {
  return encodeEventMessage({ ':message-type': 'exception', ':exception-type': exceptionType, ':content-type': contentType }, payload);
}
