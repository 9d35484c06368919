/**
 * The on-disk framing of a batch: all records of one append call that go to one shard. The byte layout is
 * documented in docs/log.md; in short (big-endian):
 *
 *   0  baseOffset     int64   offset of the first record in its shard
 *   8  batchLength    uint32  bytes after this field
 *  12  magic          uint8   = 1
 *  13  crc            uint32  CRC32C of bytes [17, end of batch)
 *  17  attributes     uint16  = 0 (reserved)
 *  19  recordCount    uint32
 *  23  firstTimestamp int64   ms since the epoch
 *  31  maxTimestamp   int64   ms since the epoch
 *  39  records
 *
 * A record: attributes uint8 (bit 0: explicit hash key, bit 1: idempotency key), timestampDelta uvarint
 * (ms after firstTimestamp), keyLength uint16 + partition key (UTF-8), [16-byte explicit hash key],
 * [idempotencyKeyLength uint16 + idempotency key (UTF-8)], dataLength uint32 + data.
 *
 * The CRC leaves out baseOffset and batchLength (as Kafka's does), so a batch is checksummed once when
 * encoded and its offset is stamped when it is queued for its shard.
 */
import { crc32c } from '../core/crc32c.ts';

export const BATCH_HEADER_BYTES = 39;
export const MAGIC = 1;
/** Bytes before the batchLength field's end: the part of the header not counted by batchLength. */
export const LENGTH_PREFIX_BYTES = 12;
const CRC_START = 17;

const ATTR_HASH_KEY = 1;
const ATTR_IDEMPOTENCY_KEY = 2;

export interface EncodableRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** Only when the producer gave an explicit hash key. */
  readonly explicitHashKey?: bigint;
  readonly idempotencyKey?: string;
}

/** Writes a string as UTF-8 at `pos`, with a JS loop for short ASCII strings (the common case). */
function writeString(buf: Buffer, pos: number, s: string): number {
  const n = s.length;
  if (n <= 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + i] = c;
    }
    if (i === n) return n;
  }
  return buf.write(s, pos, 'utf8');
}

/** Encodes records into one batch (baseOffset 0; stamp it with `setBaseOffset`). */
export function encodeBatch(records: readonly EncodableRecord[], timestamp: number): Buffer {
  let bound = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    bound += 1 + 1 + 2 + r.partitionKey.length * 3 + 4 + r.data.length;
    if (r.explicitHashKey !== undefined) bound += 16;
    if (r.idempotencyKey !== undefined) bound += 2 + r.idempotencyKey.length * 3;
  }
  const buf = Buffer.allocUnsafe(bound);
  let pos = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const hasHash = r.explicitHashKey !== undefined;
    const hasIdem = r.idempotencyKey !== undefined;
    buf[pos] = (hasHash ? ATTR_HASH_KEY : 0) | (hasIdem ? ATTR_IDEMPOTENCY_KEY : 0);
    buf[pos + 1] = 0; // timestampDelta: every record of an append shares the arrival time
    const keyBytes = writeString(buf, pos + 4, r.partitionKey);
    buf.writeUInt16BE(keyBytes, pos + 2);
    pos += 4 + keyBytes;
    if (hasHash) {
      const h = r.explicitHashKey!;
      buf.writeBigUInt64BE(h >> 64n, pos);
      buf.writeBigUInt64BE(h & 0xffffffffffffffffn, pos + 8);
      pos += 16;
    }
    if (hasIdem) {
      const n = writeString(buf, pos + 2, r.idempotencyKey!);
      buf.writeUInt16BE(n, pos);
      pos += 2 + n;
    }
    const data = r.data;
    buf.writeUInt32BE(data.length, pos);
    buf.set(data, pos + 4);
    pos += 4 + data.length;
  }
  buf.writeUInt32BE(0, 0);
  buf.writeUInt32BE(0, 4);
  buf.writeUInt32BE(pos - LENGTH_PREFIX_BYTES, 8);
  buf[12] = MAGIC;
  buf.writeUInt16BE(0, 17);
  buf.writeUInt32BE(records.length, 19);
  writeInt64(buf, timestamp, 23);
  writeInt64(buf, timestamp, 31);
  buf.writeUInt32BE(crc32c(buf, CRC_START, pos), 13);
  return buf.subarray(0, pos);
}

function writeInt64(buf: Buffer, value: number, pos: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
}

function readInt64(buf: Uint8Array, pos: number): number {
  const b = buf as Buffer;
  return b.readUInt32BE(pos) * 0x1_0000_0000 + b.readUInt32BE(pos + 4);
}

export function setBaseOffset(batch: Buffer, baseOffset: number): void {
  writeInt64(batch, baseOffset, 0);
}

export interface BatchHeader {
  readonly baseOffset: number;
  /** Total bytes of the batch, header included. */
  readonly size: number;
  readonly recordCount: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
}

export type HeaderCheck =
  | { readonly ok: true; readonly header: BatchHeader }
  /** `truncated`: the bytes end before the batch does. `invalid`: the framing or CRC is wrong. */
  | { readonly ok: false; readonly reason: 'truncated' | 'invalid'; readonly detail: string };

/**
 * Checks the batch starting at `pos` in `buf` whose valid bytes end at `end`: framing always, the CRC
 * when `verifyCrc`. Never throws.
 */
export function checkBatch(buf: Buffer, pos: number, end: number, verifyCrc: boolean): HeaderCheck {
  if (end - pos < BATCH_HEADER_BYTES) return { ok: false, reason: 'truncated', detail: `only ${end - pos} bytes left, a batch header has ${BATCH_HEADER_BYTES}` };
  const length = buf.readUInt32BE(pos + 8);
  const size = LENGTH_PREFIX_BYTES + length;
  if (buf[pos + 12] !== MAGIC) return { ok: false, reason: 'invalid', detail: `bad magic byte ${buf[pos + 12]}` };
  if (size < BATCH_HEADER_BYTES) return { ok: false, reason: 'invalid', detail: `batch length ${length} is shorter than a header` };
  if (pos + size > end) return { ok: false, reason: 'truncated', detail: `batch of ${size} bytes runs past the end (${end - pos} bytes left)` };
  if (verifyCrc) {
    const stored = buf.readUInt32BE(pos + 13);
    const actual = crc32c(buf, pos + CRC_START, pos + size);
    if (stored !== actual) return { ok: false, reason: 'invalid', detail: `CRC32C mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})` };
  }
  return {
    ok: true,
    header: {
      baseOffset: readInt64(buf, pos),
      size,
      recordCount: buf.readUInt32BE(pos + 19),
      firstTimestamp: readInt64(buf, pos + 23),
      maxTimestamp: readInt64(buf, pos + 31),
    },
  };
}

/** A record as decoded from a batch, with the fields the log keeps for itself. */
export interface DecodedRecord {
  readonly offset: number;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly idempotencyKey?: string;
  readonly data: Uint8Array;
  readonly arrivalTime: number;
}

/** UTF-8 text of `buf[start, end)`; a short ASCII string (a partition key) is built by a JS loop, cheaper than a call. */
export function readString(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n <= 32) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return buf.toString('utf8', start, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return buf.toString('utf8', start, end);
}

/**
 * Calls `visit` for each record of a (checked) batch at `pos`, in order; `visit` returns false to stop.
 * Record data are views into `buf`, not copies.
 */
export function forEachRecord(buf: Buffer, pos: number, header: BatchHeader, visit: (r: DecodedRecord, size: number) => boolean): void {
  const c = new RecordCursor();
  c.reset(buf, pos, header);
  while (c.next()) {
    const record: DecodedRecord = {
      offset: c.offset,
      partitionKey: readString(buf, c.keyStart, c.keyEnd),
      data: buf.subarray(c.dataStart, c.dataEnd),
      arrivalTime: c.arrivalTime,
      ...(c.hashKeyStart >= 0 ? { explicitHashKey: ((buf.readBigUInt64BE(c.hashKeyStart) << 64n) | buf.readBigUInt64BE(c.hashKeyStart + 8)).toString() } : {}),
      ...(c.idempotencyStart >= 0 ? { idempotencyKey: buf.toString('utf8', c.idempotencyStart, c.idempotencyEnd) } : {}),
    };
    if (!visit(record, c.dataEnd - c.recordStart)) return;
  }
}

/**
 * Walks the records of a (checked) batch without building an object or string per record: after each
 * `next()` that returns true, the fields describe the current record as positions in `buf`. The one decoder
 * of the record layout: `forEachRecord` builds its records from it, and scans that need few fields (rebuilding
 * a dedupe window at open) read the positions alone.
 */
export class RecordCursor {
  buf: Buffer = Buffer.alloc(0);
  offset = 0;
  arrivalTime = 0;
  /** Where the current record starts in `buf` (its size is `dataEnd - recordStart`). */
  recordStart = 0;
  /** The partition key's UTF-8 bytes are `buf[keyStart, keyEnd)`. */
  keyStart = 0;
  keyEnd = 0;
  /** The explicit hash key's 16 big-endian bytes start at `hashKeyStart`; -1 when absent. */
  hashKeyStart = -1;
  /** The idempotency key's UTF-8 bytes are `buf[idempotencyStart, idempotencyEnd)`; start -1 when absent. */
  idempotencyStart = -1;
  idempotencyEnd = -1;
  /** The data's bytes are `buf[dataStart, dataEnd)`. */
  dataStart = 0;
  dataEnd = 0;
  private p = 0;
  private left = 0;
  private firstTimestamp = 0;

  /** Positions the cursor before the first record of the batch at `pos`. */
  reset(buf: Buffer, pos: number, header: BatchHeader): void {
    this.buf = buf;
    this.p = pos + BATCH_HEADER_BYTES;
    this.left = header.recordCount;
    this.offset = header.baseOffset - 1;
    this.firstTimestamp = header.firstTimestamp;
  }

  /** Moves to the next record; false at the end of the batch. The one decoder of the record layout. */
  next(): boolean {
    if (this.left === 0) return false;
    this.left--;
    const buf = this.buf;
    let p = this.p;
    this.recordStart = p;
    const attrs = buf[p]!;
    p += 1;
    let delta = 0;
    let shift = 0;
    for (;;) {
      const b = buf[p++]!;
      delta += (b & 0x7f) * 2 ** shift;
      // `!(b >= 0x80)` rather than `b < 0x80`: past the end of the bytes (`undefined`) the loop stops too, so a
      // damaged batch can be walked to count its records (recovery.ts) without spinning forever.
      if (!(b >= 0x80)) break;
      shift += 7;
    }
    this.keyStart = p + 2;
    p += 2 + ((buf[p]! << 8) | buf[p + 1]!);
    this.keyEnd = p;
    if (attrs & ATTR_HASH_KEY) {
      this.hashKeyStart = p;
      p += 16;
    } else {
      this.hashKeyStart = -1;
    }
    if (attrs & ATTR_IDEMPOTENCY_KEY) {
      const n = (buf[p]! << 8) | buf[p + 1]!;
      this.idempotencyStart = p + 2;
      this.idempotencyEnd = p + 2 + n;
      p += 2 + n;
    } else {
      this.idempotencyStart = -1;
      this.idempotencyEnd = -1;
    }
    const dataLen = buf.readUInt32BE(p);
    this.dataStart = p + 4;
    this.dataEnd = p + 4 + dataLen;
    this.p = p + 4 + dataLen;
    this.offset++;
    this.arrivalTime = this.firstTimestamp + delta;
    return true;
  }
}
