/** Reads of the JetStream log: where a start position points in a shard, and a bounded batch from there. */
import { TollstreamError } from '../../core/errors.ts';
import { RecordCursor } from '../batch.ts';
import type { ReadResult, StartPosition, StoredRecord } from '../types.ts';
import type { ShardMessages } from './messages.ts';
import type { JsShardMeta } from './metadata.ts';
import { formatPosition, messageSeqOf, parseJetStreamSequence, positionOf, RECORDS_PER_MESSAGE, shardPrefix } from './sequence.ts';

/** The position a read from `from` starts at (0: the oldest message held). */
export async function resolveStart(messages: ShardMessages, shard: JsShardMeta, from: StartPosition): Promise<number> {
  const { stream, shardId } = messages.loc;
  if (typeof from !== 'object' || from === null) throw new TollstreamError('INVALID_ARGUMENT', 'a start position { type, ... } is required');
  switch (from.type) {
    case 'TRIM_HORIZON':
      return 0;
    case 'LATEST':
      return positionOf((await messages.state()).lastSeq + 1, 0);
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER': {
      const { shardIndex, position } = parseJetStreamSequence(from.sequenceNumber);
      const context = { stream, shardId, sequenceNumber: from.sequenceNumber };
      if (shardIndex !== shard.index) {
        throw new TollstreamError('INVALID_ARGUMENT', `sequence number ${from.sequenceNumber} belongs to shard index ${shardIndex}, not ${shardId}`, { context });
      }
      const seq = messageSeqOf(position);
      const notFound = () =>
        new TollstreamError('SEQUENCE_NOT_FOUND', `shard ${shardId} has no record ${from.sequenceNumber} yet`, { context });
      const start = from.type === 'AT_SEQUENCE_NUMBER' ? position : position + 1;
      if (seq === 0) return start;
      const m = await messages.next(seq);
      if (!m) {
        if (seq > (await messages.state()).lastSeq) throw notFound();
        return start;
      }
      if (m.kind === 'end') return m.seq === seq ? start : positionOf(m.seq, 0);
      // Retention removed the message: start at the oldest one held.
      if (m.message.seq > seq) return positionOf(m.message.seq, 0);
      const index = position % RECORDS_PER_MESSAGE;
      if (from.type === 'AT_SEQUENCE_NUMBER' && index >= m.message.header.recordCount && !(await messages.next(seq + 1))) throw notFound();
      return start;
    }
    case 'AT_TIMESTAMP':
      if (typeof from.timestamp !== 'number' || !Number.isFinite(from.timestamp)) {
        throw new TollstreamError('INVALID_ARGUMENT', 'AT_TIMESTAMP needs a timestamp in ms since the epoch', { context: { stream, shardId } });
      }
      return positionOf(await messages.seqAtTime(from.timestamp), 0);
    default:
      throw new TollstreamError('INVALID_ARGUMENT', `unknown start position type '${String((from as { type: unknown }).type)}'`, { context: { stream, shardId } });
  }
}

function decodeKey(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

/**
 * Reads up to the limits from `start`. `childShardIds` is what a closed shard read to its end reports.
 */
export async function readShard(
  messages: ShardMessages,
  shard: JsShardMeta,
  start: number,
  maxRecords: number,
  maxBytes: number,
  childShardIds: () => string[],
): Promise<ReadResult> {
  const prefix = shardPrefix(shard.index);
  const records: StoredRecord[] = [];
  let bytes = 0;
  let next = start;
  let limited = false;
  let sawEnd = false;
  const end = shard.endPosition;
  const cursor = new RecordCursor();
  let seq = messageSeqOf(start);
  outer: for (;;) {
    if (end !== undefined && next > end) break;
    const m = await messages.next(seq);
    if (!m) break;
    if (m.kind === 'end') {
      sawEnd = true;
      break;
    }
    const { buf, header } = m.message;
    const from = m.message.seq === messageSeqOf(next) ? next % RECORDS_PER_MESSAGE : 0;
    cursor.reset(buf, 0, header);
    let k = 0;
    while (cursor.next()) {
      const index = k++;
      if (index < from) continue;
      const position = positionOf(m.message.seq, index);
      if (end !== undefined && position > end) break outer;
      const size = cursor.dataEnd - cursor.recordStart;
      if (records.length >= maxRecords || (records.length > 0 && bytes + size > maxBytes)) {
        next = position;
        limited = true;
        break outer;
      }
      const hashKey = cursor.hashKeyStart >= 0 ? ((buf.readBigUInt64BE(cursor.hashKeyStart) << 64n) | buf.readBigUInt64BE(cursor.hashKeyStart + 8)).toString() : undefined;
      const record: StoredRecord = {
        sequenceNumber: formatPosition(prefix, position),
        partitionKey: decodeKey(buf, cursor.keyStart, cursor.keyEnd),
        ...(hashKey !== undefined ? { explicitHashKey: hashKey } : {}),
        data: buf.subarray(cursor.dataStart, cursor.dataEnd),
        arrivalTime: cursor.arrivalTime,
      };
      records.push(record);
      bytes += size;
      next = position + 1;
    }
    seq = m.message.seq + 1;
    next = Math.max(next, positionOf(seq, 0));
  }
  const last = records[records.length - 1];
  const closed = end !== undefined && (next > end || end === 0 || sawEnd) && !limited;
  if (closed || (end !== undefined && sawEnd)) {
    return { records, next: null, millisBehindLatest: 0, childShardIds: childShardIds() };
  }
  let millisBehindLatest = 0;
  if (limited && last) {
    const newest = await messages.last();
    if (newest?.kind === 'batch') millisBehindLatest = Math.max(0, newest.message.header.maxTimestamp - last.arrivalTime);
  }
  const nextPosition: StartPosition = last
    ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber }
    : next > 0
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: formatPosition(prefix, next - 1) }
      : { type: 'TRIM_HORIZON' };
  return { records, next: nextPosition, millisBehindLatest };
}
