/**
 * PostgreSQL's binary format for the types JDBC drivers send and ask for in binary by default (pgjdbc binds
 * `setInt`/`setLong`/`setDouble` parameters in binary, and asks for binary results of a statement it has
 * prepared on the server): integers, floats, booleans, text, numeric, dates, times, timestamps and UUIDs.
 * Another type in binary is refused, naming it.
 */
import { TollstreamError } from '../core/errors.ts';
import type { QueryValue } from '../warehouse/index.ts';

/** Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01. */
const PG_EPOCH_US = 946_684_800_000_000n;
const PG_EPOCH_DAYS = 10_957;

/** A parameter sent in binary, as a value the warehouse binds (a Date binds as a timestamp). */
export function decodeBinaryParam(oid: number, bytes: Buffer): string | number | bigint | boolean | Date {
  switch (oid) {
    case 16:
      return bytes[0] !== 0;
    case 21:
      return bytes.readInt16BE(0);
    case 23:
      return bytes.readInt32BE(0);
    case 20:
      return bytes.readBigInt64BE(0);
    case 700:
      return bytes.readFloatBE(0);
    case 701:
      return bytes.readDoubleBE(0);
    case 25:
    case 1043:
    case 1042:
    case 19:
      return bytes.toString('utf8');
    case 1082:
      return new Date((bytes.readInt32BE(0) + PG_EPOCH_DAYS) * 86_400_000).toISOString().slice(0, 10);
    case 1114:
    case 1184:
      return new Date(Number((bytes.readBigInt64BE(0) + PG_EPOCH_US) / 1000n));
    default:
      throw unsupported(oid, 'parameters');
  }
}

/** True when `encodeBinaryValue` can write a column of this type. */
export function hasBinaryFormat(oid: number): boolean {
  return BINARY_RESULT_OIDS.has(oid);
}

const BINARY_RESULT_OIDS: ReadonlySet<number> = new Set([16, 17, 20, 21, 23, 25, 700, 701, 1043, 1082, 1083, 1114, 1184, 1700, 2950]);

/** One value of a column of type `oid` in binary, from the text `textValue` gave for it. */
export function encodeBinaryValue(oid: number, value: QueryValue, text: string): Buffer {
  switch (oid) {
    case 16:
      return Buffer.from([value === true || text === 't' ? 1 : 0]);
    case 21:
      return int(2, (b) => b.writeInt16BE(Number(text)));
    case 23:
      return int(4, (b) => b.writeInt32BE(Number(text)));
    case 20:
      return int(8, (b) => b.writeBigInt64BE(BigInt(text)));
    case 700:
      return int(4, (b) => b.writeFloatBE(Number(text)));
    case 701:
      return int(8, (b) => b.writeDoubleBE(Number(text)));
    case 25:
    case 1043:
      return Buffer.from(text, 'utf8');
    case 17:
      // The warehouse gives a BLOB as base64.
      return Buffer.from(text, 'base64');
    case 1082:
      return int(4, (b) => b.writeInt32BE(Math.round(Date.parse(`${text.slice(0, 10)}T00:00:00Z`) / 86_400_000) - PG_EPOCH_DAYS));
    case 1083:
      return int(8, (b) => b.writeBigInt64BE(timeOfDayMicros(text)));
    case 1114:
    case 1184:
      return int(8, (b) => b.writeBigInt64BE(timestampMicros(text) - PG_EPOCH_US));
    case 1700:
      return numeric(text);
    case 2950:
      return Buffer.from(text.replaceAll('-', ''), 'hex');
    default:
      throw unsupported(oid, 'results');
  }
}

function int(size: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return b;
}

/** `2026-11-26 10:00:00.123456[+00]` -> microseconds since the Unix epoch (UTC). */
function timestampMicros(text: string): bigint {
  const m = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?/.exec(text);
  if (!m) throw new TollstreamError('INVALID_ARGUMENT', `cannot send the timestamp '${text}' in binary format`);
  const seconds = BigInt(Date.parse(`${m[1]}T${m[2]}Z`) / 1000);
  return seconds * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0'));
}

function timeOfDayMicros(text: string): bigint {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) throw new TollstreamError('INVALID_ARGUMENT', `cannot send the time '${text}' in binary format`);
  return (BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1_000_000n) + BigInt((m[4] ?? '').padEnd(6, '0'));
}

/** PostgreSQL's numeric: digit count, weight, sign, display scale, then base-10000 digits. */
function numeric(text: string): Buffer {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) {
    if (text === 'NaN') return Buffer.from([0, 0, 0, 0, 0xc0, 0, 0, 0]);
    throw new TollstreamError('INVALID_ARGUMENT', `cannot send the number '${text}' in binary format`);
  }
  const [, minus, whole, fraction = ''] = m;
  const intPart = whole!.replace(/^0+/, '');
  const padInt = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const padFrac = fraction.padEnd(Math.ceil(fraction.length / 4) * 4, '0');
  const digits: number[] = [];
  for (let i = 0; i < padInt.length; i += 4) digits.push(Number(padInt.slice(i, i + 4)));
  let weight = digits.length - 1;
  for (let i = 0; i < padFrac.length; i += 4) digits.push(Number(padFrac.slice(i, i + 4)));
  // Leading and trailing zero groups carry nothing but the weight.
  while (digits.length > 0 && digits[0] === 0) {
    digits.shift();
    weight--;
  }
  while (digits.length > 0 && digits[digits.length - 1] === 0) digits.pop();
  if (digits.length === 0) weight = 0;
  const b = Buffer.alloc(8 + 2 * digits.length);
  b.writeInt16BE(digits.length, 0);
  b.writeInt16BE(weight, 2);
  b.writeUInt16BE(minus && digits.length > 0 ? 0x4000 : 0, 4);
  b.writeInt16BE(fraction.length, 6);
  digits.forEach((d, i) => b.writeInt16BE(d, 8 + 2 * i));
  return b;
}

function unsupported(oid: number, what: string): TollstreamError {
  return new TollstreamError('INVALID_ARGUMENT', `binary format of type oid ${oid} is not supported for ${what}; ask for text format (JDBC: binaryTransfer=false)`, {
    context: { oid },
  });
}
