/** Reads of the embedded log: where a start position points in a shard, and stored records as callers see them. */
import { TollstreamError } from '../../core/errors.ts';
import { readString, RecordCursor, type BatchHeader, type DecodedRecord } from '../batch.ts';
import { formatShardId } from '../hashkey.ts';
import { parseSequenceNumber, type SequenceRun } from '../sequence.ts';
import type { StartPosition, StoredRecord } from '../types.ts';
import type { Shard } from './shard.ts';
import type { StreamState } from './stream.ts';

/** The offset a read from `from` starts at (before raising it to the oldest retained record). */
export async function resolveStart(s: StreamState, shard: Shard, from: StartPosition): Promise<number> {
  if (typeof from !== 'object' || from === null) throw new TollstreamError('INVALID_ARGUMENT', 'a start position { type, ... } is required');
  switch (from.type) {
    case 'TRIM_HORIZON':
      return shard.firstOffset;
    case 'LATEST':
      return shard.visibleNextOffset;
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER': {
      const { shardIndex, offset } = parseSequenceNumber(from.sequenceNumber);
      const context = { stream: s.meta.name, shardId: shard.shardId, sequenceNumber: from.sequenceNumber };
      if (shardIndex !== shard.index) {
        throw new TollstreamError('INVALID_ARGUMENT', `sequence number ${from.sequenceNumber} belongs to ${formatShardId(shardIndex)}, not ${shard.shardId}`, { context });
      }
      if (offset >= shard.visibleNextOffset) {
        throw new TollstreamError('SEQUENCE_NOT_FOUND', `shard ${shard.shardId} has no record ${from.sequenceNumber} yet; its latest is offset ${shard.visibleNextOffset - 1}`, {
          context,
        });
      }
      return from.type === 'AT_SEQUENCE_NUMBER' ? offset : offset + 1;
    }
    case 'AT_TIMESTAMP':
      if (typeof from.timestamp !== 'number' || !Number.isFinite(from.timestamp)) {
        throw new TollstreamError('INVALID_ARGUMENT', 'AT_TIMESTAMP needs a timestamp in ms since the epoch', { context: { stream: s.meta.name, shardId: shard.shardId } });
      }
      return shard.offsetForTime(from.timestamp);
    default:
      throw new TollstreamError('INVALID_ARGUMENT', `unknown start position type '${String((from as { type: unknown }).type)}'`, {
        context: { stream: s.meta.name, shardId: shard.shardId },
      });
  }
}

export function pad(offset: number): string {
  return String(offset).padStart(20, '0');
}

export function toStored(r: DecodedRecord, prefix: string): StoredRecord {
  return r.explicitHashKey !== undefined
    ? { sequenceNumber: prefix + pad(r.offset), partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: r.data, arrivalTime: r.arrivalTime }
    : { sequenceNumber: prefix + pad(r.offset), partitionKey: r.partitionKey, data: r.data, arrivalTime: r.arrivalTime };
}

const tailCursor = new RecordCursor();

/**
 * Every record of the (checked) batch at `pos` as stored records, straight from the record layout: no
 * intermediate record object per record, sequence numbers from `sequences` (a run of the batch's shard, as
 * appends format theirs), data as views into `buf`. What tail readers share for the newest batches.
 */
export function storedRecordsOf(buf: Buffer, pos: number, header: BatchHeader, sequences: SequenceRun): StoredRecord[] {
  const out: StoredRecord[] = [];
  const c = tailCursor;
  c.reset(buf, pos, header);
  sequences.start(header.baseOffset);
  while (c.next()) {
    const partitionKey = readString(buf, c.keyStart, c.keyEnd);
    const data = buf.subarray(c.dataStart, c.dataEnd);
    out.push(
      c.hashKeyStart < 0
        ? { sequenceNumber: sequences.next(), partitionKey, data, arrivalTime: c.arrivalTime }
        : {
            sequenceNumber: sequences.next(),
            partitionKey,
            explicitHashKey: ((buf.readBigUInt64BE(c.hashKeyStart) << 64n) | buf.readBigUInt64BE(c.hashKeyStart + 8)).toString(),
            data,
            arrivalTime: c.arrivalTime,
          },
    );
  }
  c.reset(EMPTY, 0, EMPTY_HEADER); // drop the reference to the batch
  return out;
}

const EMPTY = Buffer.alloc(0);
const EMPTY_HEADER: BatchHeader = { baseOffset: 0, size: 0, recordCount: 0, firstTimestamp: 0, maxTimestamp: 0 };

