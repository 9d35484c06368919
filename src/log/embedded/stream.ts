/** A stream of the embedded log in memory: its shards, routing, dedupe window, and its description. */
import { RecordCursor } from '../batch.ts';
import type { BatchHeader } from '../batch.ts';
import { DedupeWindow, FieldExtractor, KEY_BYTES, KEY_TEXT, MAX_DEDUPE_KEY_BYTES } from '../dedupe.ts';
import { streamDescription } from '../description.ts';
import { HashRouter } from '../hashkey.ts';
import { formatSequenceNumber } from '../sequence.ts';
import type { ShardDescription, StreamDescription } from '../types.ts';
import { DEFAULT_DEDUPE_WINDOW_SECONDS } from '../validate.ts';
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
    window: new DedupeWindow((meta.dedupe.windowSeconds ?? DEFAULT_DEDUPE_WINDOW_SECONDS) * 1000, maxKeys),
    extractor: meta.dedupe.mode === 'field' ? new FieldExtractor(meta.dedupe.field!) : undefined,
  };
}

/**
 * The keys one shard holds within the window, in its order, packed in typed arrays: rebuilding from
 * hundreds of thousands of records must not make an object and a string per record (it did, at 8-18 µs a
 * key). Key bytes are exactly the bytes the live path looks up: the field's UTF-8 bytes as found in the
 * data (or its decoded text re-encoded), the idempotency key's UTF-8 bytes as stored.
 */
class ShardKeys {
  count = 0;
  /** Keys seen, those too long to remember included (the rebuild reports them). */
  seen = 0;
  /** False once a record arrived before the one before it (the merge then sorts instead). */
  ordered = true;
  times = new Float64Array(1024);
  offsets = new Float64Array(1024);
  keyAt = new Uint32Array(1024);
  keyLen = new Uint16Array(1024);
  arena = new Uint8Array(64 * 1024);
  arenaLength = 0;

  constructor(readonly shardIndex: number) {}

  /** Room for one more key of up to `bytes` bytes; returns where its bytes go. */
  private room(bytes: number): number {
    if (this.count === this.times.length) {
      const n = this.times.length * 2;
      this.times = grown(this.times, new Float64Array(n));
      this.offsets = grown(this.offsets, new Float64Array(n));
      this.keyAt = grown(this.keyAt, new Uint32Array(n));
      this.keyLen = grown(this.keyLen, new Uint16Array(n));
    }
    if (this.arenaLength + bytes > this.arena.length) {
      let size = this.arena.length * 2;
      while (this.arenaLength + bytes > size) size *= 2;
      this.arena = grown(this.arena, new Uint8Array(size));
    }
    return this.arenaLength;
  }

  private note(time: number, offset: number, at: number, length: number): void {
    const i = this.count++;
    if (i > 0 && time < this.times[i - 1]!) this.ordered = false;
    this.times[i] = time;
    this.offsets[i] = offset;
    this.keyAt[i] = at;
    this.keyLen[i] = length;
    this.arenaLength = at + length;
  }

  addBytes(time: number, offset: number, bytes: Uint8Array, start: number, end: number): void {
    this.seen++;
    const length = end - start;
    // A key the window cannot remember changes nothing in it (`find` declines it); it is only counted.
    if (length > MAX_DEDUPE_KEY_BYTES) return;
    const at = this.room(length);
    const arena = this.arena;
    for (let i = 0; i < length; i++) arena[at + i] = bytes[start + i]!;
    this.note(time, offset, at, length);
  }

  addText(time: number, offset: number, key: string): void {
    this.seen++;
    if (key.length > MAX_DEDUPE_KEY_BYTES) return;
    const at = this.room(key.length * 3);
    const length = Buffer.from(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength).write(key, at, 'utf8');
    if (length > MAX_DEDUPE_KEY_BYTES) return;
    this.note(time, offset, at, length);
  }
}

function grown<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(old: T, to: T): T {
  to.set(old);
  return to;
}

/** Collects the keys of one shard's records that arrived after `cutoff`. */
async function collectShard(shard: Shard, cutoff: number, extractor: FieldExtractor | undefined): Promise<ShardKeys> {
  const keys = new ShardKeys(shard.index);
  const cursor = new RecordCursor();
  const visit = (buf: Buffer, pos: number, header: BatchHeader, from: number): void => {
    cursor.reset(buf, pos, header);
    while (cursor.next()) {
      if (cursor.offset < from) continue;
      if (extractor) {
        // The scanner reads to the end of what it is given, so it gets a view ending where the data does.
        const data = new Uint8Array(buf.buffer, buf.byteOffset + cursor.dataStart, cursor.dataEnd - cursor.dataStart);
        const kind = extractor.locate(data);
        if (kind === KEY_BYTES) keys.addBytes(cursor.arrivalTime, cursor.offset, data, extractor.start, extractor.end);
        else if (kind === KEY_TEXT) keys.addText(cursor.arrivalTime, cursor.offset, extractor.text);
      } else if (cursor.idempotencyStart >= 0) {
        keys.addBytes(cursor.arrivalTime, cursor.offset, buf, cursor.idempotencyStart, cursor.idempotencyEnd);
      }
    }
  };
  await shard.forEachBatch(await shard.offsetForTime(cutoff + 1), visit);
  return keys;
}

/**
 * Reloads the dedupe window from the records that arrived within it; returns how many keys it saw.
 *
 * Keys are added in arrival-time order, ties in shard index order then offset order (as a stable sort of
 * all records by time would give). A shard's records are already in arrival order, so the shards are merged
 * rather than sorted.
 */
export async function rebuildDedupe(state: StreamState, dedupe: DedupeState, now: number): Promise<number> {
  const cutoff = now - dedupe.window.windowMs;
  const runs: ShardKeys[] = [];
  for (const shard of [...state.shards.values()].sort((a, b) => a.index - b.index)) runs.push(await collectShard(shard, cutoff, dedupe.extractor));
  let total = 0;
  let seen = 0;
  let keyBytes = 0;
  for (const run of runs) {
    total += run.count;
    seen += run.seen;
    keyBytes += run.arenaLength;
  }
  const window = dedupe.window;
  window.presize(total, keyBytes);
  const add = (run: ShardKeys, i: number): void => {
    const time = run.times[i]!;
    const at = run.keyAt[i]!;
    if (window.find(run.arena, at, at + run.keyLen[i]!, time) < 0) window.insertFound(run.shardIndex, run.offsets[i]!, time);
  };
  if (runs.every((r) => r.ordered)) {
    const next = new Array<number>(runs.length).fill(0);
    for (;;) {
      // Few shards: a linear pick of the earliest head beats a heap. The first shard wins ties.
      let best = -1;
      let bestTime = Infinity;
      for (let k = 0; k < runs.length; k++) {
        const i = next[k]!;
        const run = runs[k]!;
        if (i < run.count && run.times[i]! < bestTime) {
          best = k;
          bestTime = run.times[i]!;
        }
      }
      if (best < 0) break;
      add(runs[best]!, next[best]!++);
    }
  } else {
    // Arrival times never go backwards within a shard; should a file say otherwise, sort as before.
    const order: Array<[number, number]> = [];
    for (let k = 0; k < runs.length; k++) for (let i = 0; i < runs[k]!.count; i++) order.push([k, i]);
    order.sort((a, b) => runs[a[0]]!.times[a[1]]! - runs[b[0]]!.times[b[1]]!);
    for (const [k, i] of order) add(runs[k]!, i);
  }
  return seen;
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
  return streamDescription(s.meta, s.status, shards, s.open.length);
}
