/**
 * Sequence numbers of the embedded log.
 *
 * Layout: 30 decimal digits, `V SSSSSSSSS OOOOOOOOOOOOOOOOOOOO`:
 * - `V` (1 digit) is the layout version, `4`. A non-zero first digit keeps the string free of leading zeros,
 *   so clients that round-trip it through a big integer get the same text back;
 * - `S` (9 digits) is the shard's index within the stream (`shardId-000000000007` has index 7);
 * - `O` (20 digits) is the record's offset in its shard, from 0, zero-padded.
 *
 * Within a shard the prefix is constant and the offset grows by one per record, so sequence numbers compare
 * the same way as strings and as big integers. Across shards, a child created by a reshard has a higher index
 * than its parents, so its sequence numbers are also greater.
 */
import { TollstreamError } from '../core/errors.ts';

const VERSION = '4';
const SHARD_DIGITS = 9;
const OFFSET_DIGITS = 20;
export const SEQUENCE_LENGTH = 1 + SHARD_DIGITS + OFFSET_DIGITS;
const SEQUENCE_PATTERN = /^4\d{29}$/;

/** The constant part of every sequence number of one shard. */
export function sequencePrefix(shardIndex: number): string {
  return VERSION + String(shardIndex).padStart(SHARD_DIGITS, '0');
}

export function formatSequenceNumber(shardIndex: number, offset: number): string {
  return sequencePrefix(shardIndex) + String(offset).padStart(OFFSET_DIGITS, '0');
}

export interface ParsedSequenceNumber {
  readonly shardIndex: number;
  readonly offset: number;
}

const LOW_DIGITS = 4;
const LOW_RANGE = 10 ** LOW_DIGITS;
const LOW = Array.from({ length: LOW_RANGE }, (_, i) => String(i).padStart(LOW_DIGITS, '0'));

/**
 * Formats the sequence numbers of consecutive offsets cheaply (an append formats one per record): the
 * 16 high digits are formatted once per 10,000 offsets, the 4 low digits come from a table.
 */
export class SequenceRun {
  private head = '';
  private high = -1;
  private low = 0;

  constructor(private readonly prefix: string) {}

  /** Positions the run at `offset`; each `next()` then returns the following offset's sequence number. */
  start(offset: number): this {
    const high = Math.floor(offset / LOW_RANGE);
    if (high !== this.high) {
      this.high = high;
      this.head = this.prefix + String(high).padStart(OFFSET_DIGITS - LOW_DIGITS, '0');
    }
    this.low = offset - high * LOW_RANGE;
    return this;
  }

  next(): string {
    if (this.low === LOW_RANGE) this.start((this.high + 1) * LOW_RANGE);
    return this.head + LOW[this.low++]!;
  }
}

/** Splits a sequence number of this layout; `INVALID_ARGUMENT` if it is not one. */
export function parseSequenceNumber(sequenceNumber: string): ParsedSequenceNumber {
  if (typeof sequenceNumber !== 'string' || !SEQUENCE_PATTERN.test(sequenceNumber)) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `'${String(sequenceNumber).slice(0, 64)}' is not a sequence number of this log; use one returned by append or read`,
      { context: { sequenceNumber } },
    );
  }
  const offset = Number(sequenceNumber.slice(1 + SHARD_DIGITS));
  if (!Number.isSafeInteger(offset)) {
    throw new TollstreamError('INVALID_ARGUMENT', `sequence number ${sequenceNumber} has an offset beyond this log's range`, {
      context: { sequenceNumber },
    });
  }
  return { shardIndex: Number(sequenceNumber.slice(1, 1 + SHARD_DIGITS)), offset };
}

/**
 * Orders two sequence numbers (-1, 0, 1) numerically, for any decimal strings (of this layout or not,
 * e.g. Kinesis' own), so callers need not care about widths.
 */
export function compareSequenceNumbers(a: string, b: string): -1 | 0 | 1 {
  if (a.length === b.length) return a < b ? -1 : a > b ? 1 : 0;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
