/**
 * Builds KPL aggregated records to the published aggregation format, as the Kinesis Producer Library writes
 * them: the magic bytes F3 89 9A C2, the protobuf `AggregatedRecord` (partition key table = 1, explicit hash
 * key table = 2, records = 3; each record: partition_key_index = 1, explicit_hash_key_index = 2, data = 3),
 * then the MD5 of the protobuf bytes. An encoder written apart from the decoder under test.
 */
import { createHash } from 'node:crypto';

export interface UserRecordInput {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Uint8Array | string;
}

const MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function field(fieldNumber: number, payload: Buffer): Buffer {
  return Buffer.concat([varint(fieldNumber * 8 + 2), varint(payload.length), payload]);
}

function intField(fieldNumber: number, value: number): Buffer {
  return Buffer.concat([varint(fieldNumber * 8), varint(value)]);
}

/** The protobuf bytes of the AggregatedRecord message for `records` (keys deduplicated into the tables). */
export function aggregateProtobuf(records: readonly UserRecordInput[]): Buffer {
  const partitionKeys: string[] = [];
  const hashKeys: string[] = [];
  const indexOf = (table: string[], key: string) => {
    let i = table.indexOf(key);
    if (i < 0) i = table.push(key) - 1;
    return i;
  };
  const encoded = records.map((r) => {
    const parts = [intField(1, indexOf(partitionKeys, r.partitionKey))];
    if (r.explicitHashKey !== undefined) parts.push(intField(2, indexOf(hashKeys, r.explicitHashKey)));
    parts.push(field(3, Buffer.from(r.data)));
    // A tag (field 4: key = 1, value = 2), as a KPL user may add; readers skip it.
    parts.push(field(4, Buffer.concat([field(1, Buffer.from('source')), field(2, Buffer.from('test'))])));
    return field(3, Buffer.concat(parts));
  });
  return Buffer.concat([...partitionKeys.map((k) => field(1, Buffer.from(k))), ...hashKeys.map((k) => field(2, Buffer.from(k))), ...encoded]);
}

/** One Kinesis record's data holding `records` as a KPL aggregate. */
export function encodeAggregate(records: readonly UserRecordInput[]): Uint8Array {
  const body = aggregateProtobuf(records);
  return Buffer.concat([MAGIC, body, createHash('md5').update(body).digest()]);
}

/** An aggregate whose trailing MD5 does not match (one digest byte flipped). */
export function aggregateWithBadDigest(records: readonly UserRecordInput[]): Uint8Array {
  const bytes = Buffer.from(encodeAggregate(records));
  bytes[bytes.length - 1]! ^= 0xff;
  return bytes;
}

/** An aggregate with a correct MD5 over protobuf bytes that do not parse (a field length running past the end). */
export function aggregateWithBrokenProtobuf(): Uint8Array {
  const body = Buffer.from([0x0a, 0x40, 0x61, 0x62]);
  return Buffer.concat([MAGIC, body, createHash('md5').update(body).digest()]);
}
