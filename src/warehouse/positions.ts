/** The position checks every warehouse backend runs inside a batch's transaction, before it writes anything. */
import { TollstreamError } from '../core/errors.ts';
import type { LoadBatch } from './types.ts';

/**
 * Refuses (`DELIVERY_POSITION_CONFLICT`, with the shard in its context) a batch that does not move every
 * position forward, or that continues a shard from another position than the one `stored` holds.
 */
export function checkBatchPositions(batch: LoadBatch, stored: Readonly<Record<string, string>>): void {
  const { stream, positions, previous } = batch.source;
  for (const [shardId, sequenceNumber] of Object.entries(positions)) {
    const before = stored[shardId];
    if (previous && Object.hasOwn(previous, shardId) && (previous[shardId] ?? undefined) !== before) {
      throw new TollstreamError(
        'DELIVERY_POSITION_CONFLICT',
        `batch continues ${shardId} after ${previous[shardId] ?? 'its start'} but ${batch.table} holds it up to ${before ?? 'nothing'}: another delivery wrote this shard meanwhile`,
        { context: { stream, table: batch.table, shardId, sequenceNumber, expected: previous[shardId] ?? null, stored: before ?? null } },
      );
    }
    if (before !== undefined && BigInt(sequenceNumber) <= BigInt(before)) {
      throw new TollstreamError(
        'DELIVERY_POSITION_CONFLICT',
        `batch ends at ${sequenceNumber} of ${shardId} but ${batch.table} already holds the stream up to ${before}; only one delivery may write a table from a stream`,
        { context: { stream, table: batch.table, shardId, sequenceNumber, stored: before } },
      );
    }
  }
}
