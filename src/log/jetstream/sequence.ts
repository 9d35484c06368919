/**
 * Sequence numbers of the JetStream log.
 *
 * Layout: 36 decimal digits, `V SSSSSSSSS MMMMMMMMMMMMMMMMMMMM RRRRRR`:
 * - `V` (1 digit) is the layout version, `5` (the embedded log's is `4`); non-zero, so no leading zeros;
 * - `S` (9 digits) is the shard's index within the stream;
 * - `M` (20 digits) is the JetStream stream sequence of the message holding the record (a uint64);
 * - `R` (6 digits) is the record's index within that message (a message holds fewer than 10^6 records).
 *
 * `M` and `R` together are the record's *position* in its shard, `M * 10^6 + R`, which is how the log keeps
 * it in memory (a plain number, exact while `M` stays below 9 * 10^9 messages per shard). Positions grow with
 * every record of a shard, so sequence numbers compare the same as strings and as big integers; a child
 * created by a reshard has a higher index than its parents, so its sequence numbers are also greater.
 */
import { TollstreamError } from '../../core/errors.ts';

const VERSION = '5';
const SHARD_DIGITS = 9;
const POSITION_DIGITS = 26;
/** Records per message are below this: the `R` part of a position. */
export const RECORDS_PER_MESSAGE = 1_000_000;
const PATTERN = /^5\d{35}$/;

export function shardPrefix(shardIndex: number): string {
  return VERSION + String(shardIndex).padStart(SHARD_DIGITS, '0');
}

export function positionOf(messageSeq: number, index: number): number {
  return messageSeq * RECORDS_PER_MESSAGE + index;
}

export function messageSeqOf(position: number): number {
  return Math.floor(position / RECORDS_PER_MESSAGE);
}

export function formatPosition(prefix: string, position: number): string {
  return prefix + String(position).padStart(POSITION_DIGITS, '0');
}

/** Splits a sequence number of this layout; `INVALID_ARGUMENT` if it is not one. */
export function parseJetStreamSequence(sequenceNumber: string): { shardIndex: number; position: number } {
  if (typeof sequenceNumber !== 'string' || !PATTERN.test(sequenceNumber)) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `'${String(sequenceNumber).slice(0, 64)}' is not a sequence number of this log; use one returned by append or read`,
      { context: { sequenceNumber } },
    );
  }
  const position = Number(sequenceNumber.slice(1 + SHARD_DIGITS));
  if (!Number.isSafeInteger(position)) {
    throw new TollstreamError('INVALID_ARGUMENT', `sequence number ${sequenceNumber} has a position beyond this log's range`, { context: { sequenceNumber } });
  }
  return { shardIndex: Number(sequenceNumber.slice(1, 1 + SHARD_DIGITS)), position };
}
