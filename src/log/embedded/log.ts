/**
 * The embedded backend of the stream log: streams as directories of shards, shards as directories of
 * segment files, all in one process. See docs/log.md for the format and guarantees.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { Logger } from '../../core/logger.ts';
import { encodeBatch } from '../batch.ts';
import type { DecodedRecord, EncodableRecord } from '../batch.ts';
import { DedupeWindow, FieldExtractor } from '../dedupe.ts';
import { formatShardId, HashRouter, parseExplicitHashKey, rangesOverlap, splitHashKeyRange } from '../hashkey.ts';
import { formatSequenceNumber, parseSequenceNumber, sequencePrefix } from '../sequence.ts';
import type {
  AppendRecord,
  AppendResult,
  LogStats,
  ReadLimits,
  ReadResult,
  ShardDescription,
  ShardStats,
  StartPosition,
  StoredRecord,
  StreamConfig,
  StreamDescription,
  StreamLog,
  StreamSummary,
  Subscription,
} from '../types.ts';
import { fsyncDir, ioError } from './files.ts';
import { readStreamMeta, writeStreamMeta } from './metadata.ts';
import type { ShardMeta, StreamMeta } from './metadata.ts';
import { recoverSegments } from './recovery.ts';
import { Shard } from './shard.ts';
import {
  checkLimit,
  checkRetentionBytes,
  checkRetentionHours,
  checkShardCount,
  checkStreamConfig,
  checkStreamName,
  MAX_KEY_CHARS,
  MAX_RECORD_BYTES,
  MAX_SHARDS,
  STREAM_NAME,
} from './validate.ts';

export interface EmbeddedLogOptions {
  /** The log's own directory (streams live in `<dir>/streams/<name>/`). */
  readonly dir: string;
  /** `always`: an append resolves after fdatasync. `interval`: after write(), fsynced every `fsyncIntervalMs`. */
  readonly fsync: 'always' | 'interval';
  /** ms. @default 100 */
  readonly fsyncIntervalMs?: number;
  /** A segment rolls over past this size, in bytes. @default 67108864 (64 MiB) */
  readonly segmentBytes?: number;
  /** One sparse index entry per this many bytes of batches. @default 4096 */
  readonly indexIntervalBytes?: number;
  /** Retention of streams created without one, in hours. @default 24 */
  readonly defaultRetentionHours?: number;
  /** Most dedupe keys remembered per stream; past it the oldest are forgotten early. @default 1000000 */
  readonly dedupeMaxKeys?: number;
  /** How often retention runs besides at each segment roll, in ms. @default 60000 */
  readonly retentionCheckIntervalMs?: number;
  readonly logger?: Logger;
  /** The clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** The embedded log also lets its owner run retention on demand (tests, an admin command). */
export interface EmbeddedStreamLog extends StreamLog {
  enforceRetention(): Promise<void>;
}

const DEFAULT_MAX_RECORDS = 10_000;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const MAX_FSYNC_SAMPLES = 10_000;
/** Not a possible stream name (`~` is not allowed in one), so it never collides with a stream. */
const DELETED_PREFIX = '~deleted-';

interface DedupeState {
  readonly window: DedupeWindow;
  readonly extractor: FieldExtractor | undefined;
}

interface StreamState {
  meta: StreamMeta;
  readonly dir: string;
  readonly shards: Map<string, Shard>;
  /** Open shards in hash key order, with their starting keys for routing. */
  open: Shard[];
  router: HashRouter;
  status: 'ACTIVE' | 'UPDATING';
  dedupe: DedupeState | undefined;
}

const noop = (): void => undefined;

export async function openEmbeddedLog(options: EmbeddedLogOptions): Promise<EmbeddedStreamLog> {
  const log = new EmbeddedLog(options);
  await log.open();
  return log;
}

class EmbeddedLog implements EmbeddedStreamLog {
  private readonly dir: string;
  private readonly streamsDir: string;
  private readonly fsyncMode: 'always' | 'interval';
  private readonly fsyncIntervalMs: number;
  private readonly segmentBytes: number;
  private readonly indexIntervalBytes: number;
  private readonly defaultRetentionHours: number;
  private readonly dedupeMaxKeys: number;
  private readonly retentionCheckIntervalMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly streams = new Map<string, StreamState>();
  private fsyncDurations: number[] = [];
  private closed = false;
  private timers: NodeJS.Timeout[] = [];
  /** Admin operations run one at a time. */
  private adminQueue: Promise<unknown> = Promise.resolve();
  private retentionQueue: Promise<void> = Promise.resolve();

  constructor(options: EmbeddedLogOptions) {
    if (options.fsync !== 'always' && options.fsync !== 'interval') {
      throw new TollstreamError('INVALID_ARGUMENT', `fsync must be 'always' or 'interval', got '${String(options.fsync)}'`);
    }
    this.dir = path.resolve(options.dir);
    this.streamsDir = path.join(this.dir, 'streams');
    this.fsyncMode = options.fsync;
    this.fsyncIntervalMs = checkLimit(options.fsyncIntervalMs, 'fsyncIntervalMs', 100);
    this.segmentBytes = checkLimit(options.segmentBytes, 'segmentBytes', 64 * 1024 * 1024);
    this.indexIntervalBytes = checkLimit(options.indexIntervalBytes, 'indexIntervalBytes', 4096);
    this.defaultRetentionHours = checkLimit(options.defaultRetentionHours, 'defaultRetentionHours', 24);
    this.dedupeMaxKeys = checkLimit(options.dedupeMaxKeys, 'dedupeMaxKeys', 1_000_000);
    this.retentionCheckIntervalMs = checkLimit(options.retentionCheckIntervalMs, 'retentionCheckIntervalMs', 60_000);
    this.logger = (options.logger ?? silentLogger).child({ component: 'log' });
    this.now = options.now ?? Date.now;
  }

  async open(): Promise<void> {
    try {
      await mkdir(this.streamsDir, { recursive: true });
    } catch (err) {
      throw ioError('creating the log directory', err, { file: this.streamsDir });
    }
    for (const entry of (await readdir(this.streamsDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const name = entry.name;
      const dir = path.join(this.streamsDir, name);
      if (name.startsWith(DELETED_PREFIX)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (!entry.isDirectory() || !STREAM_NAME.test(name)) {
        this.logger.warn('ignoring an entry of the streams directory that is not a stream', { file: dir });
        continue;
      }
      const meta = await readStreamMeta(dir);
      if (!meta) {
        this.logger.warn('removing a stream directory whose creation did not finish', { stream: name, file: dir });
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const state = await this.openStream(dir, meta);
      this.streams.set(meta.name, state);
    }
    if (this.fsyncMode === 'interval') {
      this.timers.push(setInterval(() => void this.syncAll(), this.fsyncIntervalMs).unref());
    }
    this.timers.push(setInterval(() => void this.enforceRetention().catch((err) => this.logger.error('retention failed', { err })), this.retentionCheckIntervalMs).unref());
  }

  private shardOptions(stream: string) {
    return {
      fsync: this.fsyncMode,
      segmentBytes: this.segmentBytes,
      indexIntervalBytes: this.indexIntervalBytes,
      onFsync: (ms: number) => {
        if (this.fsyncDurations.length < MAX_FSYNC_SAMPLES) this.fsyncDurations.push(ms);
      },
      onRoll: () => this.retentionFor(stream),
    };
  }

  private async openShard(streamDir: string, stream: string, meta: ShardMeta): Promise<Shard> {
    const dir = path.join(streamDir, meta.shardId);
    const segments = await recoverSegments({
      dir,
      indexIntervalBytes: this.indexIntervalBytes,
      logger: this.logger,
      context: { stream, shardId: meta.shardId },
    });
    if (segments.length === 0 && meta.endOffset === undefined) {
      throw new TollstreamError('LOG_CORRUPT', `open shard ${meta.shardId} of stream ${stream} has no segment file in ${dir}`, {
        context: { stream, shardId: meta.shardId, file: dir },
      });
    }
    const shard = new Shard(stream, meta.shardId, meta.index, dir, segments, this.shardOptions(stream));
    if (meta.endOffset !== undefined) {
      if (shard.nextOffset > meta.endOffset) {
        throw new TollstreamError('LOG_CORRUPT', `closed shard ${meta.shardId} holds records past its end offset ${meta.endOffset}`, {
          context: { stream, shardId: meta.shardId, file: dir },
        });
      }
      // Under fsync 'interval' a power loss can take a closed shard's last writes; it then ends earlier.
      const end = segments.length === 0 ? meta.endOffset : shard.visibleNextOffset;
      if (end < meta.endOffset) {
        this.logger.warn('a closed shard ends before its recorded end offset; its last records were lost', { stream, shardId: meta.shardId, endOffset: meta.endOffset, found: end });
      }
      shard.nextOffset = end;
      shard.visibleNextOffset = end;
      shard.endOffset = end;
    }
    return shard;
  }

  private async openStream(dir: string, meta: StreamMeta): Promise<StreamState> {
    const shards = new Map<string, Shard>();
    for (const sm of meta.shards) shards.set(sm.shardId, await this.openShard(dir, meta.name, sm));
    // Shard directories not in the metadata come from a reshard that did not finish.
    for (const entry of await readdir(dir)) {
      if (entry.startsWith('shardId-') && !shards.has(entry)) {
        this.logger.warn('removing a shard directory not named in the stream metadata (an unfinished reshard)', { stream: meta.name, shardId: entry });
        await rm(path.join(dir, entry), { recursive: true, force: true });
      }
    }
    const state: StreamState = { meta, dir, shards, open: [], router: new HashRouter([0n]), status: 'ACTIVE', dedupe: undefined };
    this.route(state);
    state.dedupe = this.newDedupe(meta);
    if (state.dedupe) await this.rebuildDedupe(state, state.dedupe);
    return state;
  }

  private newDedupe(meta: StreamMeta): DedupeState | undefined {
    if (!meta.dedupe) return undefined;
    return {
      window: new DedupeWindow((meta.dedupe.windowSeconds ?? 3600) * 1000, this.dedupeMaxKeys),
      extractor: meta.dedupe.mode === 'field' ? new FieldExtractor(meta.dedupe.field!) : undefined,
    };
  }

  /** Reloads the dedupe window from the records that arrived within it. */
  private async rebuildDedupe(state: StreamState, dedupe: DedupeState): Promise<void> {
    const cutoff = this.now() - dedupe.window.windowMs;
    const found: Array<{ key: string; shardIndex: number; offset: number; time: number }> = [];
    for (const shard of [...state.shards.values()].sort((a, b) => a.index - b.index)) {
      let offset = await shard.offsetForTime(cutoff + 1);
      while (offset < shard.visibleNextOffset) {
        const { records, nextOffset } = await shard.read(offset, 10_000, 16 * 1024 * 1024);
        if (records.length === 0) break;
        for (const r of records) {
          const key = dedupe.extractor ? dedupe.extractor.extract(r.data) : r.idempotencyKey;
          if (key !== undefined) found.push({ key, shardIndex: shard.index, offset: r.offset, time: r.arrivalTime });
        }
        offset = nextOffset;
      }
    }
    found.sort((a, b) => a.time - b.time);
    for (const f of found) dedupe.window.add(f.key, f.shardIndex, f.offset, f.time);
    if (found.length) this.logger.info('rebuilt the dedupe window', { stream: state.meta.name, keys: dedupe.window.size });
  }

  private route(state: StreamState): void {
    const open = [...state.shards.values()].filter((s) => !s.isClosed);
    const range = new Map(state.meta.shards.map((m) => [m.shardId, BigInt(m.hashKeyRange.startingHashKey)]));
    open.sort((a, b) => (range.get(a.shardId)! < range.get(b.shardId)! ? -1 : 1));
    state.open = open;
    state.router = new HashRouter(open.map((s) => range.get(s.shardId)!));
  }

  private checkOpen(): void {
    if (this.closed) throw new TollstreamError('LOG_CLOSED', 'the stream log is closed; open it again to continue');
  }

  private stream(name: string): StreamState {
    this.checkOpen();
    const s = this.streams.get(name);
    if (!s) throw new TollstreamError('STREAM_NOT_FOUND', `stream '${String(name).slice(0, 140)}' does not exist; create it first`, { context: { stream: name } });
    return s;
  }

  private shard(s: StreamState, shardId: string): Shard {
    const shard = s.shards.get(shardId);
    if (!shard) {
      throw new TollstreamError('SHARD_NOT_FOUND', `stream '${s.meta.name}' has no shard '${String(shardId).slice(0, 64)}'; describe the stream for its shards`, {
        context: { stream: s.meta.name, shardId },
      });
    }
    return shard;
  }

  private admin<T>(op: () => Promise<T>): Promise<T> {
    const run = this.adminQueue.then(op, op);
    this.adminQueue = run.catch(noop);
    return run;
  }

  // ---- streams ---------------------------------------------------------------------------------------

  async createStream(name: string, config: StreamConfig = {}): Promise<StreamDescription> {
    this.checkOpen();
    checkStreamName(name);
    const c = checkStreamConfig(name, config, this.defaultRetentionHours);
    return this.admin(async () => {
      this.checkOpen();
      if (this.streams.has(name)) throw new TollstreamError('STREAM_EXISTS', `stream '${name}' already exists`, { context: { stream: name } });
      const dir = path.join(this.streamsDir, name);
      const ranges = splitHashKeyRange(c.shardCount);
      const shards: ShardMeta[] = ranges.map((hashKeyRange, index) => ({ shardId: formatShardId(index), index, hashKeyRange, parentShardIds: [] }));
      const meta: StreamMeta = {
        version: 1,
        name,
        createdAt: this.now(),
        retentionHours: c.retentionHours,
        ...(c.retentionBytes !== undefined ? { retentionBytes: c.retentionBytes } : {}),
        ...(c.dedupe ? { dedupe: c.dedupe } : {}),
        nextShardIndex: c.shardCount,
        shards,
      };
      try {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        for (const sm of shards) await Shard.createFiles(path.join(dir, sm.shardId));
        await writeStreamMeta(dir, meta);
        await fsyncDir(this.streamsDir);
      } catch (err) {
        throw err instanceof TollstreamError ? err : ioError('creating a stream', err, { stream: name, file: dir });
      }
      const state = await this.openStream(dir, meta);
      this.streams.set(name, state);
      this.logger.info('stream created', { stream: name, shards: c.shardCount });
      return this.describe(state);
    });
  }

  async deleteStream(name: string): Promise<void> {
    this.stream(name);
    return this.admin(async () => {
      const s = this.stream(name);
      this.streams.delete(name);
      for (const shard of s.shards.values()) {
        await shard.close().catch(noop);
        shard.wakeAll();
      }
      const trash = path.join(this.streamsDir, `${DELETED_PREFIX}${name}-${Date.now()}`);
      try {
        await rename(s.dir, trash);
        await fsyncDir(this.streamsDir);
        await rm(trash, { recursive: true, force: true });
      } catch (err) {
        throw ioError('deleting a stream', err, { stream: name, file: s.dir });
      }
      this.logger.info('stream deleted', { stream: name });
    });
  }

  async listStreams(): Promise<readonly StreamSummary[]> {
    this.checkOpen();
    return [...this.streams.values()]
      .map((s) => ({ name: s.meta.name, status: s.status, openShardCount: s.open.length, createdAt: s.meta.createdAt }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async describeStream(name: string): Promise<StreamDescription> {
    return this.describe(this.stream(name));
  }

  private describe(s: StreamState): StreamDescription {
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

  async updateRetention(name: string, retention: { retentionHours?: number; retentionBytes?: number | null }): Promise<StreamDescription> {
    this.stream(name);
    const hours = retention.retentionHours === undefined ? undefined : checkRetentionHours(retention.retentionHours, name);
    const bytes = retention.retentionBytes === undefined ? undefined : checkRetentionBytes(retention.retentionBytes, name);
    return this.admin(async () => {
      const s = this.stream(name);
      const { retentionBytes: oldBytes, ...rest } = s.meta;
      const newBytes = retention.retentionBytes === undefined ? oldBytes : bytes;
      const meta: StreamMeta = { ...rest, retentionHours: hours ?? s.meta.retentionHours, ...(newBytes !== undefined ? { retentionBytes: newBytes } : {}) };
      await writeStreamMeta(s.dir, meta);
      s.meta = meta;
      await this.retentionFor(name);
      return this.describe(s);
    });
  }

  async updateShardCount(name: string, targetShardCount: number): Promise<StreamDescription> {
    this.stream(name);
    checkShardCount(targetShardCount, name);
    return this.admin(async () => {
      const s = this.stream(name);
      const current = s.open.length;
      if (targetShardCount > current * 2 || targetShardCount * 2 < current) {
        throw new TollstreamError(
          'LIMIT_EXCEEDED',
          `a stream with ${current} open shards can scale to between ${Math.ceil(current / 2)} and ${Math.min(current * 2, MAX_SHARDS)} shards in one step, not ${targetShardCount}`,
          { context: { stream: name } },
        );
      }
      if (targetShardCount === current) return this.describe(s);
      s.status = 'UPDATING';
      try {
        await this.reshard(s, targetShardCount);
      } finally {
        s.status = 'ACTIVE';
      }
      this.logger.info('stream resharded', { stream: name, from: current, to: targetShardCount });
      return this.describe(s);
    });
  }

  /**
   * Children are created and routed to at once, but hold their writes until the metadata naming them is
   * durable; the parents' end offsets are fixed at the switch and their queued batches drained first.
   */
  private async reshard(s: StreamState, target: number): Promise<void> {
    const parents = s.meta.shards.filter((m) => m.endOffset === undefined);
    const ranges = splitHashKeyRange(target);
    const children: ShardMeta[] = ranges.map((hashKeyRange, i) => ({
      shardId: formatShardId(s.meta.nextShardIndex + i),
      index: s.meta.nextShardIndex + i,
      hashKeyRange,
      parentShardIds: parents.filter((p) => rangesOverlap(p.hashKeyRange, hashKeyRange)).map((p) => p.shardId),
    }));
    const opened: Shard[] = [];
    for (const c of children) {
      const dir = path.join(s.dir, c.shardId);
      await Shard.createFiles(dir);
      opened.push(await this.openShard(s.dir, s.meta.name, c));
    }
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    for (const shard of opened) shard.holdUntil(gate);
    // The switch: synchronous, so no append sees a half-done routing.
    const ends = new Map<string, number>();
    for (const p of parents) ends.set(p.shardId, s.shards.get(p.shardId)!.closeForWrites());
    for (const shard of opened) s.shards.set(shard.shardId, shard);
    const meta: StreamMeta = {
      ...s.meta,
      nextShardIndex: s.meta.nextShardIndex + target,
      shards: [...s.meta.shards.map((m) => (ends.has(m.shardId) ? { ...m, endOffset: ends.get(m.shardId)! } : m)), ...children],
    };
    s.meta = meta;
    this.route(s);
    try {
      for (const p of parents) await s.shards.get(p.shardId)!.drain();
      await writeStreamMeta(s.dir, meta);
    } finally {
      release();
    }
  }

  // ---- records --------------------------------------------------------------------------------------

  async append(stream: string, records: readonly AppendRecord[]): Promise<readonly AppendResult[]> {
    const s = this.stream(stream);
    if (!Array.isArray(records)) throw new TollstreamError('INVALID_ARGUMENT', 'records must be an array', { context: { stream } });
    const n = records.length;
    const now = this.now();
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
          const key = dedupe.extractor ? dedupe.extractor.extract(r.data) : r.idempotencyKey;
          if (key !== undefined) {
            const seen = window.find(key, now);
            if (seen >= 0) {
              open[g]!.duplicatesDropped++;
              const offset = window.offsetOf(seen);
              if (offset < 0) (repeats ??= []).push(i, -1 - offset);
              else (waits ??= []).push(this.answerDuplicate(s, window.shardIndexOf(seen), offset, results, i));
              continue;
            }
            placed![i] = window.insert(key, open[g]!.index, -1 - i, now);
          }
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
  private async answerDuplicate(s: StreamState, shardIndex: number, offset: number, results: AppendResult[], i: number): Promise<void> {
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

  private async resolveStart(s: StreamState, shard: Shard, from: StartPosition): Promise<number> {
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

  async read(stream: string, shardId: string, from: StartPosition, limits: ReadLimits = {}): Promise<ReadResult> {
    return (await this.readShard(stream, shardId, from, limits)).result;
  }

  private async readShard(stream: string, shardId: string, from: StartPosition, limits: ReadLimits): Promise<{ result: ReadResult; shard: Shard; nextOffset: number }> {
    const s = this.stream(stream);
    const shard = this.shard(s, shardId);
    const maxRecords = checkLimit(limits.maxRecords, 'maxRecords', DEFAULT_MAX_RECORDS);
    const maxBytes = checkLimit(limits.maxBytes, 'maxBytes', DEFAULT_MAX_BYTES);
    const start = await this.resolveStart(s, shard, from);
    const { records: decoded, nextOffset } = await shard.read(start, maxRecords, maxBytes);
    this.checkOpen();
    const prefix = sequencePrefix(shard.index);
    const records = decoded.map((r) => toStored(r, prefix));
    const last = records[records.length - 1];
    const atTip = nextOffset >= shard.visibleNextOffset;
    const millisBehindLatest = atTip || !last ? 0 : Math.max(0, shard.lastTimestamp - last.arrivalTime);
    if (shard.endOffset !== undefined && nextOffset >= shard.endOffset) {
      const childShardIds = s.meta.shards.filter((m) => m.parentShardIds.includes(shardId)).map((m) => m.shardId);
      return { result: { records, next: null, millisBehindLatest: 0, childShardIds }, shard, nextOffset };
    }
    const next: StartPosition = last
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber }
      : nextOffset > 0
        ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: prefix + pad(nextOffset - 1) }
        : { type: 'TRIM_HORIZON' };
    return { result: { records, next, millisBehindLatest }, shard, nextOffset };
  }

  subscribe(stream: string, shardId: string, from: StartPosition, options: ReadLimits & { signal?: AbortSignal } = {}): Subscription {
    this.shard(this.stream(stream), shardId);
    const controller = new AbortController();
    const outer = options.signal;
    const onAbort = () => controller.abort();
    if (outer) {
      if (outer.aborted) controller.abort();
      else outer.addEventListener('abort', onAbort, { once: true });
    }
    const signal = controller.signal;
    const limits: ReadLimits = {
      ...(options.maxRecords !== undefined ? { maxRecords: options.maxRecords } : {}),
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    };
    const log = this;
    async function* follow(): AsyncGenerator<ReadResult> {
      let position: StartPosition = from;
      try {
        while (!signal.aborted && !log.closed) {
          const { result, shard, nextOffset } = await log.readShard(stream, shardId, position, limits);
          if (signal.aborted) return;
          if (result.records.length > 0 || result.next === null) yield result;
          if (result.next === null) return;
          position = result.next;
          if (result.records.length === 0) {
            await shard.waitForData(nextOffset, signal);
            if (log.closed || !log.streams.has(stream)) return;
          }
        }
      } finally {
        outer?.removeEventListener('abort', onAbort);
      }
    }
    const iterator = follow();
    return {
      [Symbol.asyncIterator]: () => iterator,
      close: () => {
        controller.abort();
        void iterator.return(undefined).catch(noop);
      },
    };
  }

  // ---- upkeep ---------------------------------------------------------------------------------------

  stats(): LogStats {
    const shards: ShardStats[] = [];
    for (const s of this.streams.values()) {
      for (const shard of s.shards.values()) {
        const last = shard.visibleNextOffset > 0 ? formatSequenceNumber(shard.index, shard.visibleNextOffset - 1) : undefined;
        shards.push({
          stream: s.meta.name,
          shardId: shard.shardId,
          recordsIn: shard.recordsIn,
          bytesIn: shard.bytesIn,
          duplicatesDropped: shard.duplicatesDropped,
          storedBytes: shard.storedBytes,
          ...(last !== undefined ? { latestSequenceNumber: last, latestArrivalTime: shard.lastTimestamp } : {}),
        });
      }
    }
    const fsyncDurationsMs = this.fsyncDurations;
    this.fsyncDurations = [];
    return { shards, fsyncDurationsMs };
  }

  private async syncAll(): Promise<void> {
    for (const s of this.streams.values()) for (const shard of s.shards.values()) await shard.syncIfDirty();
  }

  enforceRetention(): Promise<void> {
    this.checkOpen();
    const run = async () => {
      for (const name of [...this.streams.keys()]) await this.retentionOnce(name);
    };
    this.retentionQueue = this.retentionQueue.then(run, run);
    return this.retentionQueue;
  }

  private retentionFor(stream: string): Promise<void> {
    const run = () => this.retentionOnce(stream);
    this.retentionQueue = this.retentionQueue.then(run, run);
    return this.retentionQueue;
  }

  /** Deletes whole segments older than the retention time or beyond the size limit; drops drained closed shards. */
  private async retentionOnce(name: string): Promise<void> {
    const s = this.streams.get(name);
    if (!s || this.closed) return;
    const cutoff = this.now() - s.meta.retentionHours * 3_600_000;
    const maxBytes = s.meta.retentionBytes;
    const emptied: string[] = [];
    for (const shard of s.shards.values()) {
      const deleted = await shard.deleteOldSegments(
        (seg, total) => !(seg.maxTimestamp >= cutoff) || (maxBytes !== undefined && total > maxBytes),
        shard.isClosed,
      );
      if (deleted > 0) this.logger.debug('retention deleted segments', { stream: name, shardId: shard.shardId, segments: deleted });
      if (shard.isClosed && shard.segments.length === 0) emptied.push(shard.shardId);
    }
    if (emptied.length === 0 || this.streams.get(name) !== s) return;
    await this.admin(async () => {
      const meta: StreamMeta = { ...s.meta, shards: s.meta.shards.filter((m) => !emptied.includes(m.shardId)) };
      await writeStreamMeta(s.dir, meta);
      s.meta = meta;
      for (const id of emptied) {
        const shard = s.shards.get(id)!;
        s.shards.delete(id);
        shard.wakeAll();
        await rm(shard.dir, { recursive: true, force: true });
      }
      this.logger.info('dropped closed shards whose records all expired', { stream: name, shards: emptied });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.adminQueue.catch(noop);
    await this.retentionQueue.catch(noop);
    for (const s of this.streams.values()) {
      for (const shard of s.shards.values()) {
        await shard.close();
        shard.wakeAll();
      }
    }
  }
}

function pad(offset: number): string {
  return String(offset).padStart(20, '0');
}

function toStored(r: DecodedRecord, prefix: string): StoredRecord {
  return r.explicitHashKey !== undefined
    ? { sequenceNumber: prefix + pad(r.offset), partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: r.data, arrivalTime: r.arrivalTime }
    : { sequenceNumber: prefix + pad(r.offset), partitionKey: r.partitionKey, data: r.data, arrivalTime: r.arrivalTime };
}

function checkRecord(r: AppendRecord, stream: string, i: number): void {
  const pk = r?.partitionKey;
  if (typeof pk !== 'string' || pk.length === 0 || pk.length > MAX_KEY_CHARS * 2 || (pk.length > MAX_KEY_CHARS && [...pk].length > MAX_KEY_CHARS)) {
    throw new TollstreamError('INVALID_ARGUMENT', `record ${i}: partitionKey must be 1 to ${MAX_KEY_CHARS} characters`, { context: { stream, record: i } });
  }
  if (!(r.data instanceof Uint8Array)) throw new TollstreamError('INVALID_ARGUMENT', `record ${i}: data must be bytes`, { context: { stream, record: i } });
  if (r.data.length > MAX_RECORD_BYTES) {
    throw new TollstreamError('INVALID_ARGUMENT', `record ${i}: data is ${r.data.length} bytes, above the limit of ${MAX_RECORD_BYTES}`, { context: { stream, record: i } });
  }
  const idem = r.idempotencyKey;
  if (idem !== undefined && (typeof idem !== 'string' || idem.length === 0 || idem.length > MAX_KEY_CHARS)) {
    throw new TollstreamError('INVALID_ARGUMENT', `record ${i}: idempotencyKey must be 1 to ${MAX_KEY_CHARS} characters`, { context: { stream, record: i } });
  }
}

export { MAX_SHARDS };
