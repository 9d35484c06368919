/** A stream of the embedded log in memory: its shards, routing, dedupe window, and its description. */
import { DedupeWindow, FieldExtractor, KEY_BYTES, KEY_TEXT } from '../dedupe.ts';
import { HashRouter } from '../hashkey.ts';
import { formatSequenceNumber } from '../sequence.ts';
import type { ShardDescription, StreamDescription } from '../types.ts';
import type { StreamMeta } from './metadata.ts';
import type { Shard } from './shard.ts';

export interface DedupeState {
  readonly window: DedupeWindow;
  readonly extractor: FieldExtractor | undefined;
}

export interface StreamState {
  meta: StreamMeta;
  readonly dir: string;
  readonly shards: Map<string, Shard>;
  /** Open shards in hash key order, with their starting keys for routing. */
  open: Shard[];
  router: HashRouter;
  status: 'ACTIVE' | 'UPDATING';
  dedupe: DedupeState | undefined;
}

export function newDedupe(meta: StreamMeta, maxKeys: number): DedupeState | undefined {
  if (!meta.dedupe) return undefined;
  return {
    window: new DedupeWindow((meta.dedupe.windowSeconds ?? 3600) * 1000, maxKeys),
    extractor: meta.dedupe.mode === 'field' ? new FieldExtractor(meta.dedupe.field!) : undefined,
  };
}

/** Reloads the dedupe window from the records that arrived within it; returns how many keys it saw. */
export async function rebuildDedupe(state: StreamState, dedupe: DedupeState, now: number): Promise<number> {
  const cutoff = now - dedupe.window.windowMs;
  // Keys as found in the data are kept as latin1 text (one char per byte), so their bytes come back exactly.
  const found: Array<{ key: string; encoding: 'latin1' | 'utf8'; shardIndex: number; offset: number; time: number }> = [];
  const extractor = dedupe.extractor;
  for (const shard of [...state.shards.values()].sort((a, b) => a.index - b.index)) {
    let offset = await shard.offsetForTime(cutoff + 1);
    while (offset < shard.visibleNextOffset) {
      const { records, nextOffset } = await shard.read(offset, 10_000, 16 * 1024 * 1024);
      if (records.length === 0) break;
      for (const r of records) {
        const where = { shardIndex: shard.index, offset: r.offset, time: r.arrivalTime };
        if (extractor) {
          const kind = extractor.locate(r.data);
          if (kind === KEY_BYTES) {
            const key = Buffer.from(r.data.buffer, r.data.byteOffset + extractor.start, extractor.end - extractor.start).toString('latin1');
            found.push({ key, encoding: 'latin1', ...where });
          } else if (kind === KEY_TEXT) {
            found.push({ key: extractor.text, encoding: 'utf8', ...where });
          }
        } else if (r.idempotencyKey !== undefined) {
          found.push({ key: r.idempotencyKey, encoding: 'utf8', ...where });
        }
      }
      offset = nextOffset;
    }
  }
  found.sort((a, b) => a.time - b.time);
  for (const f of found) dedupe.window.add(f.key, f.shardIndex, f.offset, f.time, f.encoding);
  return found.length;
}

/** Recomputes the open shards, in hash key order, and the router over them. */
export function routeStream(state: StreamState): void {
  const open = [...state.shards.values()].filter((s) => !s.isClosed);
  const range = new Map(state.meta.shards.map((m) => [m.shardId, BigInt(m.hashKeyRange.startingHashKey)]));
  open.sort((a, b) => (range.get(a.shardId)! < range.get(b.shardId)! ? -1 : 1));
  state.open = open;
  state.router = new HashRouter(open.map((s) => range.get(s.shardId)!));
}

export function describeStreamState(s: StreamState): StreamDescription {
  const shards: ShardDescription[] = [];
  for (const m of [...s.meta.shards].sort((a, b) => a.index - b.index)) {
    const shard = s.shards.get(m.shardId);
    if (!shard) continue;
    const end = shard.endOffset;
    shards.push({
      shardId: m.shardId,
      hashKeyRange: m.hashKeyRange,
      parentShardIds: m.parentShardIds,
      startingSequenceNumber: formatSequenceNumber(m.index, 0),
      ...(end !== undefined ? { endingSequenceNumber: formatSequenceNumber(m.index, Math.max(end - 1, 0)) } : {}),
    });
  }
  return {
    name: s.meta.name,
    status: s.status,
    createdAt: s.meta.createdAt,
    retentionHours: s.meta.retentionHours,
    ...(s.meta.retentionBytes !== undefined ? { retentionBytes: s.meta.retentionBytes } : {}),
    ...(s.meta.dedupe ? { dedupe: s.meta.dedupe } : {}),
    shards,
    openShardCount: s.open.length,
  };
}
