/**
 * The append path of the embedded log: validate, route, deduplicate, encode one batch per shard, queue it,
 * and settle once every batch is durable. Per record it costs a route (JS MD5 and a number comparison), the
 * dedupe scan and window lookup, and the copy into the batch buffer; no promise or syscall per record.
 */
import { TollstreamError } from '../../core/errors.ts';
import { encodeBatch } from '../batch.ts';
import { KEY_BYTES, KEY_TEXT } from '../dedupe.ts';
import type { EncodableRecord } from '../batch.ts';
import { formatShardId, parseExplicitHashKey } from '../hashkey.ts';
import { formatSequenceNumber } from '../sequence.ts';
import type { AppendRecord, AppendResult } from '../types.ts';
import type { StreamState } from './stream.ts';
import { checkRecord } from '../validate.ts';

const noop = (): void => undefined;

/**
 * Appends `records` to the stream's open shards; resolves with one result per record, in order, once every
 * stored record (and the first record of every repeat) is durable.
 */
export async function appendToStream(s: StreamState, records: readonly AppendRecord[], now: number): Promise<AppendResult[]> {
  const stream = s.meta.name;
  if (!Array.isArray(records)) throw new TollstreamError('INVALID_ARGUMENT', 'records must be an array', { context: { stream } });
  const n = records.length;
  const results: AppendResult[] = new Array(n);
  const open = s.open;
  const single = open.length === 1;
  const groups: Array<EncodableRecord[] | undefined> = new Array(open.length);
  const groupIndexes: Array<number[] | undefined> = new Array(open.length);
  const dedupe = s.dedupe;
  const window = dedupe?.window;
  // Dedupe slots of keys first seen in this call: placeholders (offset -1 - index) until the batch has offsets.
  let placed: Int32Array | undefined;
  let repeats: number[] | undefined;
  let waits: Array<Promise<void>> | undefined;
  try {
    if (window) {
      window.expire(now);
      placed = new Int32Array(n).fill(-1);
    }
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      checkRecord(r, stream, i);
      let g = 0;
      let hash: bigint | undefined;
      if (r.explicitHashKey !== undefined) {
        hash = parseExplicitHashKey(r.explicitHashKey);
        if (!single) g = s.router.indexOfHash(hash);
      } else if (!single) {
        g = s.router.indexOfKey(r.partitionKey);
      }
      if (window) {
        // The key is looked up where it lies in the data (no string is built for it in the common case).
        const extractor = dedupe.extractor;
        let seen = -2;
        if (extractor) {
          const kind = extractor.locate(r.data);
          if (kind === KEY_BYTES) seen = window.find(r.data, extractor.start, extractor.end, now);
          else if (kind === KEY_TEXT) seen = window.findText(extractor.text, now);
        } else if (r.idempotencyKey !== undefined) {
          seen = window.findText(r.idempotencyKey, now);
        }
        if (seen >= 0) {
          open[g]!.duplicatesDropped++;
          const offset = window.offsetOf(seen);
          if (offset < 0) (repeats ??= []).push(i, -1 - offset);
          else (waits ??= []).push(answerDuplicate(s, window.shardIndexOf(seen), offset, results, i));
          continue;
        }
        if (seen === -1) placed![i] = window.insertFound(open[g]!.index, -1 - i, now);
      }
      const rec: EncodableRecord =
        hash === undefined
          ? (r as EncodableRecord) // no explicit hash key: the producer's record encodes as it is
          : { partitionKey: r.partitionKey, data: r.data, explicitHashKey: hash, ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}) };
      (groups[g] ??= []).push(rec);
      (groupIndexes[g] ??= []).push(i);
    }
  } catch (err) {
    if (placed) for (let i = 0; i < n; i++) if (placed[i]! >= 0) window!.forget(placed[i]!);
    throw err;
  }
  for (let g = 0; g < open.length; g++) {
    const recs = groups[g];
    if (!recs) continue;
    const idx = groupIndexes[g]!;
    const shard = open[g]!;
    const ts = shard.arrivalTime(now);
    const { baseOffset, done } = shard.enqueue(encodeBatch(recs, ts), recs.length, ts);
    const run = shard.sequences.start(baseOffset);
    const shardId = shard.shardId;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!;
      results[i] = { ok: true, shardId, sequenceNumber: run.next(), duplicate: false };
      if (placed !== undefined && placed[i]! >= 0) window!.update(placed[i]!, shard.index, baseOffset + k, ts);
    }
    (waits ??= []).push(
      done.then(noop, (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        for (const i of idx) {
          results[i] = { ok: false, errorCode: 'InternalFailure', errorMessage: message };
          if (placed !== undefined && placed[i]! >= 0) window!.forget(placed[i]!);
        }
      }),
    );
  }
  if (waits) await Promise.all(waits);
  if (repeats) {
    for (let j = 0; j < repeats.length; j += 2) {
      const first = results[repeats[j + 1]!]!;
      results[repeats[j]!] = first.ok ? { ...first, duplicate: true } : first;
    }
  }
  return results;
}

/** Answers a repeat with its first record, once that record is durable (it may still be in flight). */
async function answerDuplicate(s: StreamState, shardIndex: number, offset: number, results: AppendResult[], i: number): Promise<void> {
  const shardId = formatShardId(shardIndex);
  results[i] = { ok: true, shardId, sequenceNumber: formatSequenceNumber(shardIndex, offset), duplicate: true };
  const shard = s.shards.get(shardId);
  if (!shard || shard.visibleNextOffset > offset) return;
  try {
    await shard.whenDurable(offset);
  } catch (err) {
    results[i] = { ok: false, errorCode: 'InternalFailure', errorMessage: err instanceof Error ? err.message : String(err) };
  }
}
