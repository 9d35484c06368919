/**
 * Request bodies built once and sent many times: Kinesis `PutRecords` bodies (AWS JSON 1.1, each record's data
 * in base64) and native NDJSON bodies, each of a fixed set of toll transactions.
 *
 * Records are laid out as `{"transaction_id":"<prefix><12 digits>","event_time":"<24 characters>",...}`, so the
 * two fields that must change per sending sit side by side at a fixed place. With `unique` the digits (a counter
 * of this process) and the event time (now, less the record's own offset for out-of-order and late records) are
 * written into the record's bytes before each sending, and only the few base64 characters covering them are
 * encoded again: the rest of the body is never rebuilt.
 */
import type { TollTransaction } from '../../../src/simulator/index.ts';

/** One record of the pool the bodies are cut from. */
export interface PoolRecord {
  readonly transaction: TollTransaction;
  /** How far its event time lies before the moment it is sent, ms (0 for most; out-of-order and late records more). */
  readonly eventOffsetMs: number;
  /** A producer's retry: sent again with the transaction id of an earlier record. */
  readonly duplicate: boolean;
}

const DIGITS = 12;
const ISO_LENGTH = 24;
/** A retry carries the id of the record this many ids earlier (a few batches back, as a producer's retry is). */
export const DUPLICATE_LAG = 1000;

/** Where one record's changing bytes are, in its own JSON and in the body. */
interface Slot {
  /** The record's JSON bytes (for native bodies, a view into the body). */
  readonly raw: Buffer;
  readonly digitsAt: number;
  readonly timeAt: number;
  /** The 3-byte-aligned span of `raw` that covers both fields, and where its base64 starts in the body. */
  readonly spanStart: number;
  readonly spanEnd: number;
  readonly base64At: number;
  readonly eventOffsetMs: number;
  readonly duplicate: boolean;
}

export interface Body {
  readonly bytes: Buffer;
  readonly records: number;
  readonly slots: readonly Slot[];
  readonly base64: boolean;
  /** The partition keys in order (Kinesis bodies). */
  readonly partitionKeys: readonly string[];
}

function recordJson(tx: TollTransaction, idPrefix: string): string {
  const { transaction_id: _id, event_time: _time, ...rest } = tx;
  const tail = JSON.stringify(rest).slice(1);
  return `{"transaction_id":"${idPrefix}${'0'.repeat(DIGITS)}","event_time":"${'2000-01-01T00:00:00.000Z'}",${tail}`;
}

function slotOf(raw: Buffer, idPrefix: string, record: PoolRecord, recordAt: number, base64: boolean): Slot {
  const digitsAt = `{"transaction_id":"${idPrefix}`.length;
  const timeAt = digitsAt + DIGITS + '","event_time":"'.length;
  const spanStart = Math.floor(digitsAt / 3) * 3;
  const spanEnd = Math.min(raw.length, Math.ceil((timeAt + ISO_LENGTH) / 3) * 3);
  return {
    raw,
    digitsAt,
    timeAt,
    spanStart,
    spanEnd,
    base64At: base64 ? recordAt + (spanStart / 3) * 4 : recordAt + spanStart,
    eventOffsetMs: record.eventOffsetMs,
    duplicate: record.duplicate,
  };
}

/** A PutRecords body of `records` for `stream`. */
export function kinesisBody(stream: string, records: readonly PoolRecord[], idPrefix: string): Body {
  const raws = records.map((r) => Buffer.from(recordJson(r.transaction, idPrefix)));
  const parts: string[] = [`{"StreamName":${JSON.stringify(stream)},"Records":[`];
  let bytes = Buffer.byteLength(parts[0]!);
  const recordAt: number[] = [];
  records.forEach((r, i) => {
    const open = `${i > 0 ? ',' : ''}{"Data":"`;
    bytes += open.length;
    recordAt.push(bytes);
    const rest = `${raws[i]!.toString('base64')}","PartitionKey":${JSON.stringify(r.transaction.customer_id)}}`;
    bytes += Buffer.byteLength(rest);
    parts.push(open, rest);
  });
  parts.push(']}');
  const text = parts.join('');
  const slots = records.map((r, i) => slotOf(raws[i]!, idPrefix, r, recordAt[i]!, true));
  return { bytes: Buffer.from(text), records: records.length, slots, base64: true, partitionKeys: records.map((r) => r.transaction.customer_id) };
}

/** An NDJSON body of `records` (one JSON object a line). */
export function nativeBody(records: readonly PoolRecord[], idPrefix: string): Body {
  const lines = records.map((r) => recordJson(r.transaction, idPrefix));
  const bytes = Buffer.from(lines.join('\n') + '\n');
  const slots: Slot[] = [];
  let at = 0;
  records.forEach((r, i) => {
    const length = Buffer.byteLength(lines[i]!);
    slots.push(slotOf(bytes.subarray(at, at + length), idPrefix, r, at, false));
    at += length + 1;
  });
  return { bytes, records: records.length, slots, base64: false, partitionKeys: [] };
}

/** The ids a process has given out: `next` is the next one, `first` its first (a retry never goes before it). */
export interface IdCounter {
  next: number;
  readonly first: number;
}

/**
 * Gives every record of `body` its next id from `ids` (a retry the id `DUPLICATE_LAG` before its own, when
 * there is one) and the event time `now` less its offset. Returns how many records are retries.
 */
export function stampBody(body: Body, ids: IdCounter, now: number): number {
  const nowIso = new Date(now).toISOString();
  const bytes = body.bytes;
  let retries = 0;
  for (const slot of body.slots) {
    const own = ids.next++;
    const retry = slot.duplicate && own - DUPLICATE_LAG >= ids.first;
    if (retry) retries++;
    const id = retry ? own - DUPLICATE_LAG : own;
    writeDigits(slot.raw, slot.digitsAt, id);
    slot.raw.write(slot.eventOffsetMs === 0 ? nowIso : new Date(now - slot.eventOffsetMs).toISOString(), slot.timeAt, 'latin1');
    if (body.base64) bytes.write(slot.raw.toString('base64', slot.spanStart, slot.spanEnd), slot.base64At, 'latin1');
  }
  return retries;
}

function writeDigits(raw: Buffer, at: number, value: number): void {
  for (let i = DIGITS - 1; i >= 0; i--) {
    raw[at + i] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
}
