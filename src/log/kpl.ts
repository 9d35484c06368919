/**
 * KPL aggregated records: the Kinesis Producer Library packs many user records into one Kinesis record as
 * the 4 magic bytes F3 89 9A C2, a protobuf `AggregatedRecord`, and the MD5 of the protobuf bytes. The log
 * stores and returns such a record as it came (GetRecords hands it to the KCL, which de-aggregates itself);
 * Tollstream's own consumers expand it here into user records, each with its own partition key and the
 * sub-sequence number the KCL gives it (its index in the aggregate).
 *
 * The protobuf schema (field numbers):
 *   AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 *                      repeated Record records = 3; }
 *   Record { uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2; bytes data = 3;
 *            repeated Tag tags = 4; }
 */
import { createHash } from 'node:crypto';
import type { StoredRecord } from './types.ts';

const DIGEST_BYTES = 16;
const HEADER_BYTES = 4;

/**
 * True when `data` carries the aggregate magic bytes and is long enough to hold a digest after them (the KCL's
 * own test: shorter data with the magic is an ordinary record). The check for every record on the read path.
 */
export function isKplAggregate(data: Uint8Array): boolean {
  return data.length > HEADER_BYTES + DIGEST_BYTES && data[0] === 0xf3 && data[1] === 0x89 && data[2] === 0x9a && data[3] === 0xc2;
}

export type Deaggregated =
  | { readonly ok: true; readonly records: readonly StoredRecord[] }
  /** The aggregate cannot be read: `reason` says why (a digest mismatch, broken protobuf, an index out of its table). */
  | { readonly ok: false; readonly reason: string };

/**
 * The user records of an aggregate, in order. Each keeps the aggregate's sequence number and arrival time and
 * takes its partition key (and explicit hash key) from the aggregate's tables and `subSequenceNumber` from its
 * position. Call only when `isKplAggregate(record.data)`.
 */
export function deaggregate(record: StoredRecord): Deaggregated {
  const data = record.data;
  const body = data.subarray(HEADER_BYTES, data.length - DIGEST_BYTES);
  const digest = createHash('md5').update(body).digest();
  if (!digest.equals(data.subarray(data.length - DIGEST_BYTES))) return { ok: false, reason: 'the MD5 digest at the end of the aggregate does not match its protobuf bytes' };
  try {
    const message = parseAggregate(body);
    const records: StoredRecord[] = [];
    for (let i = 0; i < message.records.length; i++) {
      const r = message.records[i]!;
      const partitionKey = message.partitionKeys[r.partitionKeyIndex];
      if (partitionKey === undefined) throw new MalformedAggregate(`user record ${i} names partition key ${r.partitionKeyIndex} of a table of ${message.partitionKeys.length}`);
      let explicitHashKey: string | undefined;
      if (r.explicitHashKeyIndex !== undefined) {
        explicitHashKey = message.explicitHashKeys[r.explicitHashKeyIndex];
        if (explicitHashKey === undefined) throw new MalformedAggregate(`user record ${i} names explicit hash key ${r.explicitHashKeyIndex} of a table of ${message.explicitHashKeys.length}`);
      }
      records.push(
        explicitHashKey === undefined
          ? { sequenceNumber: record.sequenceNumber, subSequenceNumber: i, partitionKey, data: r.data, arrivalTime: record.arrivalTime }
          : { sequenceNumber: record.sequenceNumber, subSequenceNumber: i, partitionKey, explicitHashKey, data: r.data, arrivalTime: record.arrivalTime },
      );
    }
    return { ok: true, records };
  } catch (err) {
    if (err instanceof MalformedAggregate) return { ok: false, reason: `the aggregate's protobuf cannot be read: ${err.message}` };
    throw err;
  }
}

class MalformedAggregate extends Error {}

interface ParsedAggregate {
  readonly partitionKeys: string[];
  readonly explicitHashKeys: string[];
  readonly records: { partitionKeyIndex: number; explicitHashKeyIndex?: number; data: Uint8Array }[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A reader of protobuf's wire format over one message's bytes. */
class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** A varint as a number; indices past 2^53 cannot name a table entry, so they fail as out of range later. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw new MalformedAggregate(`a varint runs past the end at byte ${this.pos}`);
      const b = this.bytes[this.pos++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new MalformedAggregate(`a varint longer than 10 bytes ends at byte ${this.pos}`);
  }

  lengthDelimited(): Uint8Array {
    const length = this.varint();
    if (this.pos + length > this.bytes.length) throw new MalformedAggregate(`a field of ${length} bytes at byte ${this.pos} runs past the end (${this.bytes.length})`);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    try {
      return utf8.decode(this.lengthDelimited());
    } catch (err) {
      if (err instanceof MalformedAggregate) throw err;
      throw new MalformedAggregate('a key is not UTF-8');
    }
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.lengthDelimited();
    else if (wireType === 1 || wireType === 5) {
      this.pos += wireType === 1 ? 8 : 4;
      if (this.pos > this.bytes.length) throw new MalformedAggregate('a fixed-width field runs past the end');
    } else throw new MalformedAggregate(`unknown wire type ${wireType} at byte ${this.pos}`);
  }
}

function parseAggregate(bytes: Uint8Array): ParsedAggregate {
  const out: ParsedAggregate = { partitionKeys: [], explicitHashKeys: [], records: [] };
  const reader = new Reader(bytes);
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 1 && wireType === 2) out.partitionKeys.push(reader.string());
    else if (field === 2 && wireType === 2) out.explicitHashKeys.push(reader.string());
    else if (field === 3 && wireType === 2) out.records.push(parseRecord(reader.lengthDelimited()));
    else reader.skip(wireType);
  }
  return out;
}

function parseRecord(bytes: Uint8Array): ParsedAggregate['records'][number] {
  const reader = new Reader(bytes);
  let partitionKeyIndex: number | undefined;
  let explicitHashKeyIndex: number | undefined;
  let data: Uint8Array = new Uint8Array(0);
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 1 && wireType === 0) partitionKeyIndex = reader.varint();
    else if (field === 2 && wireType === 0) explicitHashKeyIndex = reader.varint();
    else if (field === 3 && wireType === 2) data = reader.lengthDelimited();
    else reader.skip(wireType);
  }
  if (partitionKeyIndex === undefined) throw new MalformedAggregate('a user record has no partition_key_index');
  return explicitHashKeyIndex === undefined ? { partitionKeyIndex, data } : { partitionKeyIndex, explicitHashKeyIndex, data };
}
