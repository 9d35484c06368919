/**
 * The embedded backend of the stream log: streams as directories of shards, shards as directories of
 * segment files, all in one process. See docs/log.md for the format and guarantees.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { Logger } from '../../core/logger.ts';
import { formatShardId, HashRouter, splitHashKeyRange } from '../hashkey.ts';
import { planMerge, planSplit, planUniform } from '../reshard.ts';
import type { PlannedShard, ReshardPlan } from '../reshard.ts';
import { formatSequenceNumber, parseSequenceNumber, sequencePrefix } from '../sequence.ts';
import type {
  AppendRecord,
  AppendResult,
  DedupeStats,
  LogHealth,
  LogStats,
  ShardFailure,
  ReadLimits,
  ReadResult,
  ShardStats,
  StartPosition,
  StreamConfig,
  StreamDescription,
  StreamLog,
  StreamConsumer,
  StreamMode,
  StreamSummary,
  StreamTags,
  Subscription,
} from '../types.ts';
import { fsyncDir, ioError } from './files.ts';
import { META_COPY_FILE, META_FILE, readStreamMeta, writeStreamMeta } from './metadata.ts';
import type { ShardMeta, StreamMeta } from './metadata.ts';
import { recoverSegments, removeIfNoRecords } from './recovery.ts';
import { OpenFiles } from './open-files.ts';
import { Shard } from './shard.ts';
import { appendToStream } from './append.ts';
import { pad, resolveStart, toStored } from './read.ts';
import { dedupeStats, warnWhenCutShort } from '../dedupe.ts';
import { describeStreamState, newDedupe, rebuildDedupe, routeStream } from './stream.ts';
import type { StreamState } from './stream.ts';
import {
  checkLimit,
  checkRetentionBytes,
  checkRetentionHours,
  checkShardCount,
  checkStreamConfig,
  checkStreamName,
  checkConsumerName,
  checkStreamMode,
  checkTags,
  MAX_CONSUMERS,
  STREAM_NAME,
} from '../validate.ts';

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
  /**
   * Most segment files the log keeps open at once; past it the least recently used idle one is closed and
   * opened again when next used. @default 1024
   */
  readonly maxOpenFiles?: number;
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
  private readonly files: OpenFiles;
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
    this.files = new OpenFiles(checkLimit(options.maxOpenFiles, 'maxOpenFiles', 1024));
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
      const found = await readStreamMeta(dir);
      if (!found) {
        await removeIfNoRecords(
          dir,
          `is a stream directory without ${META_FILE} or ${META_COPY_FILE}`,
          `restore ${META_FILE} from a backup, or move the directory out of ${this.streamsDir} to start without the stream`,
          this.logger,
          { stream: name },
        );
        continue;
      }
      const { meta } = found;
      if (found.rewrite) {
        this.logger.warn('rewriting the stream metadata', { stream: name, file: dir, reason: found.rewrite });
        await writeStreamMeta(dir, meta);
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
      files: this.files,
      onFailed: (shardId: string, err: TollstreamError) => {
        this.logger.error('shard failed: it refuses writes until the disk recovers and its files check out again', { stream, shardId, err });
      },
      onHealed: (shardId: string, failedMs: number) => {
        this.logger.warn('shard healed: its files check out again and it takes writes', { stream, shardId, failedMs });
      },
    };
  }

  private async openShard(streamDir: string, stream: string, meta: ShardMeta): Promise<Shard> {
    const dir = path.join(streamDir, meta.shardId);
    const segments = await recoverSegments({
      dir,
      indexIntervalBytes: this.indexIntervalBytes,
      logger: this.logger,
      context: { stream, shardId: meta.shardId },
      ...(meta.endOffset !== undefined ? { endOffset: meta.endOffset } : {}),
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
        await removeIfNoRecords(
          path.join(dir, entry),
          `is a shard directory not named in ${META_FILE}`,
          `restore ${META_FILE} (the one naming this shard) from a backup, or move the directory aside to start without its records`,
          this.logger,
          { stream: meta.name, shardId: entry },
        );
      }
    }
    const state: StreamState = { meta, dir, shards, open: [], router: new HashRouter([0n]), status: 'ACTIVE', dedupe: undefined };
    routeStream(state);
    state.dedupe = newDedupe(meta, this.dedupeMaxKeys);
    if (state.dedupe) warnWhenCutShort(state.dedupe.window, meta.name, this.logger);
    if (state.dedupe) {
      const keys = await rebuildDedupe(state, state.dedupe, this.now());
      if (keys > 0) this.logger.info('rebuilt the dedupe window', { stream: meta.name, keys: state.dedupe.window.size });
    }
    return state;
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
        ...(c.tags && Object.keys(c.tags).length > 0 ? { tags: c.tags } : {}),
        ...(c.mode === 'on-demand' ? { mode: c.mode } : {}),
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
      return describeStreamState(state);
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
      .map((s) => ({ name: s.meta.name, status: s.status, openShardCount: s.open.length, createdAt: s.meta.createdAt, mode: s.meta.mode ?? 'provisioned' }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async describeStream(name: string): Promise<StreamDescription> {
    return describeStreamState(this.stream(name));
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
      return describeStreamState(s);
    });
  }

  async updateTags(name: string, change: { set?: StreamTags; remove?: readonly string[] }): Promise<StreamDescription> {
    this.stream(name);
    const set = change.set === undefined ? {} : checkTags(change.set, name);
    const remove = change.remove ?? [];
    if (!Array.isArray(remove) || remove.some((k) => typeof k !== 'string')) throw new TollstreamError('INVALID_ARGUMENT', 'remove must be a list of tag keys', { context: { stream: name } });
    return this.admin(async () => {
      const s = this.stream(name);
      const merged: Record<string, string> = { ...s.meta.tags, ...set };
      for (const key of remove) delete merged[key];
      const tags = checkTags(merged, name);
      const { tags: _old, ...rest } = s.meta;
      const meta: StreamMeta = { ...rest, ...(Object.keys(tags).length > 0 ? { tags } : {}) };
      await writeStreamMeta(s.dir, meta);
      s.meta = meta;
      return describeStreamState(s);
    });
  }

  async registerConsumer(name: string, consumerName: string): Promise<StreamConsumer> {
    this.stream(name);
    checkConsumerName(consumerName, name);
    return this.admin(async () => {
      const s = this.stream(name);
      const consumers = s.meta.consumers ?? [];
      if (consumers.some((c) => c.name === consumerName)) {
        throw new TollstreamError('CONSUMER_EXISTS', `stream '${name}' already has a consumer named '${consumerName}'`, { context: { stream: name, consumer: consumerName } });
      }
      if (consumers.length >= MAX_CONSUMERS) {
        throw new TollstreamError('LIMIT_EXCEEDED', `stream '${name}' already has ${MAX_CONSUMERS} consumers, the most it can have; deregister one first`, {
          context: { stream: name, limit: MAX_CONSUMERS },
        });
      }
      const consumer: StreamConsumer = { name: consumerName, createdAt: this.now() };
      const meta: StreamMeta = { ...s.meta, consumers: [...consumers, consumer] };
      await writeStreamMeta(s.dir, meta);
      s.meta = meta;
      return { ...consumer };
    });
  }

  async updateStreamMode(name: string, mode: StreamMode): Promise<StreamDescription> {
    this.stream(name);
    checkStreamMode(mode, name);
    return this.admin(async () => {
      const s = this.stream(name);
      const { mode: _old, ...rest } = s.meta;
      const meta: StreamMeta = { ...rest, ...(mode === 'on-demand' ? { mode } : {}) };
      await writeStreamMeta(s.dir, meta);
      s.meta = meta;
      return describeStreamState(s);
    });
  }

  async deregisterConsumer(name: string, consumerName: string): Promise<void> {
    this.stream(name);
    return this.admin(async () => {
      const s = this.stream(name);
      const consumers = s.meta.consumers ?? [];
      if (!consumers.some((c) => c.name === consumerName)) {
        throw new TollstreamError('NOT_FOUND', `stream '${name}' has no consumer named '${String(consumerName).slice(0, 140)}'`, { context: { stream: name, consumer: consumerName } });
      }
      const { consumers: _old, ...rest } = s.meta;
      const left = consumers.filter((c) => c.name !== consumerName);
      const meta: StreamMeta = { ...rest, ...(left.length > 0 ? { consumers: left } : {}) };
      await writeStreamMeta(s.dir, meta);
      s.meta = meta;
    });
  }

  async updateShardCount(name: string, targetShardCount: number): Promise<StreamDescription> {
    this.stream(name);
    checkShardCount(targetShardCount, name);
    return this.reshardWith(name, (shards) => planUniform(name, shards, targetShardCount));
  }

  async splitShard(name: string, shardId: string, newStartingHashKey: string): Promise<StreamDescription> {
    this.stream(name);
    return this.reshardWith(name, (shards) => planSplit(name, shards, shardId, newStartingHashKey));
  }

  async mergeShards(name: string, shardId: string, adjacentShardId: string): Promise<StreamDescription> {
    this.stream(name);
    return this.reshardWith(name, (shards) => planMerge(name, shards, shardId, adjacentShardId));
  }

  /** Plans a reshard from the stream's shards as they are when its turn comes, and applies it (UPDATING meanwhile). */
  private reshardWith(name: string, plan: (shards: PlannedShard[]) => ReshardPlan | undefined): Promise<StreamDescription> {
    return this.admin(async () => {
      const s = this.stream(name);
      const current = s.open.length;
      const p = plan(s.meta.shards.map((m) => ({ shardId: m.shardId, hashKeyRange: m.hashKeyRange, open: m.endOffset === undefined })));
      if (!p) return describeStreamState(s);
      s.status = 'UPDATING';
      try {
        await this.reshard(s, p);
      } finally {
        s.status = 'ACTIVE';
      }
      this.logger.info('stream resharded', { stream: name, from: current, to: s.open.length, closed: p.parents });
      return describeStreamState(s);
    });
  }

  /**
   * Children are created and routed to at once, but hold their writes until the metadata naming them is
   * durable; the parents' end offsets are fixed at the switch and their queued batches drained first.
   */
  private async reshard(s: StreamState, plan: ReshardPlan): Promise<void> {
    const parents = s.meta.shards.filter((m) => plan.parents.includes(m.shardId));
    const children: ShardMeta[] = plan.children.map((c, i) => ({
      shardId: formatShardId(s.meta.nextShardIndex + i),
      index: s.meta.nextShardIndex + i,
      hashKeyRange: c.hashKeyRange,
      parentShardIds: c.parentShardIds,
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
      nextShardIndex: s.meta.nextShardIndex + children.length,
      shards: [...s.meta.shards.map((m) => (ends.has(m.shardId) ? { ...m, endOffset: ends.get(m.shardId)! } : m)), ...children],
    };
    s.meta = meta;
    routeStream(s);
    try {
      for (const p of parents) await s.shards.get(p.shardId)!.drain();
      await writeStreamMeta(s.dir, meta);
    } finally {
      release();
    }
  }

  // ---- records --------------------------------------------------------------------------------------

  async append(stream: string, records: readonly AppendRecord[]): Promise<readonly AppendResult[]> {
    return appendToStream(this.stream(stream), records, this.now());
  }

  async read(stream: string, shardId: string, from: StartPosition, limits: ReadLimits = {}): Promise<ReadResult> {
    return (await this.readShard(stream, shardId, from, limits)).result;
  }

  private async readShard(stream: string, shardId: string, from: StartPosition, limits: ReadLimits): Promise<{ result: ReadResult; shard: Shard; nextOffset: number }> {
    const s = this.stream(stream);
    const shard = this.shard(s, shardId);
    const maxRecords = checkLimit(limits.maxRecords, 'maxRecords', DEFAULT_MAX_RECORDS);
    const maxBytes = checkLimit(limits.maxBytes, 'maxBytes', DEFAULT_MAX_BYTES);
    const start = await resolveStart(s, shard, from);
    const prefix = sequencePrefix(shard.index);
    let { records, nextOffset } = shard.readTail(start, maxRecords, maxBytes) ?? { records: undefined, nextOffset: 0 };
    if (records === undefined) {
      const read = await shard.read(start, maxRecords, maxBytes);
      records = read.records.map((r) => toStored(r, prefix));
      nextOffset = read.nextOffset;
    }
    this.checkOpen();
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
          failed: shard.failure !== undefined,
          writeFailures: shard.writeFailures,
          ...(last !== undefined ? { latestSequenceNumber: last, latestArrivalTime: shard.lastTimestamp } : {}),
        });
      }
    }
    const dedupe: DedupeStats[] = [];
    const now = this.now();
    for (const s of this.streams.values()) {
      const window = s.dedupe?.window;
      if (window) dedupe.push(dedupeStats(s.meta.name, window, now));
    }
    const fsyncDurationsMs = this.fsyncDurations;
    this.fsyncDurations = [];
    return { shards, dedupe, fsyncDurationsMs };
  }

  recordsAfter(stream: string, shardId: string, sequenceNumber: string | undefined): number {
    const shard = this.shard(this.stream(stream), shardId);
    // Offsets are dense within a shard (one per record), so the count is a difference; records retention removed are not counted.
    let from = shard.firstOffset;
    if (sequenceNumber !== undefined) {
      const parsed = parseSequenceNumber(sequenceNumber);
      if (parsed.shardIndex === shard.index) from = Math.max(from, parsed.offset + 1);
      else if (parsed.shardIndex > shard.index) return 0;
    }
    return Math.max(0, shard.visibleNextOffset - from);
  }

  health(): LogHealth {
    const failedShards: ShardFailure[] = [];
    for (const s of this.streams.values()) {
      for (const shard of s.shards.values()) {
        const f = shard.failure;
        if (f) failedShards.push({ stream: s.meta.name, shardId: shard.shardId, reason: f.error.message, since: f.since });
      }
    }
    return { failedShards, reachable: true };
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
      await shard.rollIfExpired(cutoff);
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

