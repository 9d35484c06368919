/** Reads of the embedded log: where a start position points in a shard, and stored records as callers see them. */
import { TollstreamError } from '../../core/errors.ts';
import type { DecodedRecord } from '../batch.ts';
import { formatShardId } from '../hashkey.ts';
import { parseSequenceNumber } from '../sequence.ts';
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
