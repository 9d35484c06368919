/**
 * The JetStream backend of the stream log: each shard is a replicated JetStream stream, each append call one
 * message per shard holding the call's records as a batch; stream metadata lives in a JetStream stream too
 * (`metadata.ts`). Any number of processes may open the log over the same cluster and prefix: every one
 * serves every stream. See docs/log.md for the mapping, the sequence numbers and the guarantees.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, nuid } from '@nats-io/transport-node';
import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node';
import { TollstreamError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { Logger } from '../../core/logger.ts';
import type { EncodableRecord } from '../batch.ts';
import { DedupeWindow, FieldExtractor } from '../dedupe.ts';
import { formatShardId, HashRouter, parseExplicitHashKey, parseShardId, rangesOverlap, splitHashKeyRange } from '../hashkey.ts';
import type {
  AppendRecord,
  AppendResult,
  LogStats,
  ReadLimits,
  ReadResult,
  ShardDescription,
  StartPosition,
  StreamConfig,
  StreamDescription,
  StreamLog,
  StreamSummary,
  Subscription,
} from '../types.ts';
import { checkLimit, checkRecord, checkRetentionBytes, checkRetentionHours, checkShardCount, checkStreamConfig, checkStreamName, MAX_SHARDS } from '../validate.ts';
import { endMarkerHeaders, ShardMessages } from './messages.ts';
import { isApiError, MetaStore, WRONG_LAST_SEQUENCE } from './metadata.ts';
import type { JsShardMeta, JsStreamMeta } from './metadata.ts';
import { Names } from './names.ts';
import { readShard, resolveStart } from './read.ts';
import { formatPosition, positionOf, shardPrefix } from './sequence.ts';
import { ShardClosed, ShardWriter } from './writer.ts';
import type { ShardCounters, StreamDedupe, WriteJob } from './writer.ts';

export interface JetStreamLogOptions {
  /** NATS URLs of the cluster's servers, e.g. `nats://10.0.0.1:4222`. */
  readonly servers: readonly string[];
  /** Replicas of every JetStream stream the log creates (1 to 5). @default 3 */
  readonly replicas?: number;
  /** Prefix of every JetStream stream and subject the log uses; logs with different prefixes share a cluster. @default 'tollstream' */
  readonly prefix?: string;
  /** This process's name in the cluster (the NATS connection name). @default the host name and process id */
  readonly nodeName?: string;
  /** Retention of streams created without one, in hours. @default 24 */
  readonly defaultRetentionHours?: number;
  /** Most dedupe keys remembered per stream; past it the oldest are forgotten early. @default 1000000 */
  readonly dedupeMaxKeys?: number;
  /** How often closed shards whose records all expired are dropped, in ms. @default 60000 */
  readonly retentionCheckIntervalMs?: number;
  /** How long a JetStream request (a publish ack, a read) may take, in ms. @default 5000 */
  readonly requestTimeoutMs?: number;
  /**
   * How long a subscription waits without a wake-up before reading again, in ms: it only matters when a node
   * died between its publish ack and its wake-up message. @default 5000
   */
  readonly wakeFallbackMs?: number;
  readonly logger?: Logger;
  /** The clock that stamps arrival times and ages dedupe keys, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** The JetStream log also lets its owner drop expired closed shards on demand (tests, an admin command). */
export interface JetStreamStreamLog extends StreamLog {
  enforceRetention(): Promise<void>;
}

interface StreamState {
  meta: JsStreamMeta;
  readonly id: string;
  writers: Map<number, ShardWriter>;
  counters: Map<number, ShardCounters>;
  open: JsShardMeta[];
  router: HashRouter;
  dedupe: StreamDedupe | undefined;
}

const DEFAULT_MAX_RECORDS = 10_000;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const MESSAGE_TARGET_BYTES = 1024 * 1024;
const REROUTE_ATTEMPTS = 10;
const STREAM_NOT_FOUND_API = 10059;
const STREAM_NAME_IN_USE = 10058;
const noop = (): void => undefined;

export async function openJetStreamLog(options: JetStreamLogOptions): Promise<JetStreamStreamLog> {
  const log = new JetStreamLog(options);
  await log.open();
  return log;
}

class JetStreamLog implements JetStreamStreamLog {
  private readonly names: Names;
  private readonly replicas: number;
  private readonly defaultRetentionHours: number;
  private readonly dedupeMaxKeys: number;
  private readonly retentionCheckIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly wakeFallbackMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private nc!: NatsConnection;
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;
  private store!: MetaStore;
  private maxPayload = 1024 * 1024;
  private readonly streams = new Map<string, Promise<StreamState | undefined>>();
  /** Subscriptions waiting for new records, by `stream/shardIndex`; each is woken once. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Bumped on every wake of a shard, so a reader can tell whether it missed one while reading. */
  private readonly wakeEpochs = new Map<string, number>();
  private subs: NatsSubscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private adminQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: JetStreamLogOptions) {
    if (!Array.isArray(options.servers) || options.servers.length === 0) throw new TollstreamError('INVALID_ARGUMENT', 'servers must list at least one NATS URL');
    const prefix = options.prefix ?? 'tollstream';
    if (!/^[a-zA-Z0-9_-]{1,32}$/.test(prefix)) throw new TollstreamError('INVALID_ARGUMENT', `prefix '${prefix}' must be 1 to 32 letters, digits, '_' or '-'`);
    this.names = new Names(prefix);
    this.replicas = options.replicas ?? 3;
    if (!Number.isInteger(this.replicas) || this.replicas < 1 || this.replicas > 5) throw new TollstreamError('INVALID_ARGUMENT', `replicas must be an integer from 1 to 5, got ${String(options.replicas)}`);
    this.defaultRetentionHours = checkLimit(options.defaultRetentionHours, 'defaultRetentionHours', 24);
    this.dedupeMaxKeys = checkLimit(options.dedupeMaxKeys, 'dedupeMaxKeys', 1_000_000);
    this.retentionCheckIntervalMs = checkLimit(options.retentionCheckIntervalMs, 'retentionCheckIntervalMs', 60_000);
    this.timeoutMs = checkLimit(options.requestTimeoutMs, 'requestTimeoutMs', 5000);
    this.wakeFallbackMs = checkLimit(options.wakeFallbackMs, 'wakeFallbackMs', 5000);
    this.logger = (options.logger ?? silentLogger).child({ component: 'log' });
    this.now = options.now ?? Date.now;
  }

  async open(): Promise<void> {
    try {
      this.nc = await connect({
        servers: [...this.options.servers],
        name: this.options.nodeName ?? `tollstream-${process.pid}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        timeout: this.timeoutMs,
      });
    } catch (err) {
      throw new TollstreamError('IO_ERROR', `cannot reach the NATS servers ${this.options.servers.join(', ')}: ${(err as Error).message}`, {
        context: { servers: this.options.servers },
        cause: err,
      });
    }
    this.maxPayload = this.nc.info?.max_payload ?? this.maxPayload;
    try {
      this.js = jetstream(this.nc, { timeout: this.timeoutMs });
      this.jsm = await jetstreamManager(this.nc, { timeout: this.timeoutMs });
      this.store = new MetaStore(this.jsm, this.js, this.names, this.replicas, this.timeoutMs);
      await this.store.init();
    } catch (err) {
      await this.nc.close().catch(noop);
      throw new TollstreamError('IO_ERROR', `JetStream of the NATS servers ${this.options.servers.join(', ')} is not available: ${(err as Error).message}`, {
        context: { servers: this.options.servers },
        cause: err,
      });
    }
    this.subs.push(this.nc.subscribe(this.names.wakeSubjects, { callback: (_err, m) => this.onWake(m.subject, m.string()) }));
    this.subs.push(this.nc.subscribe(this.names.changedSubjects, { callback: (_err, m) => this.onChanged(this.names.streamOfChanged(m.subject)) }));
    await this.nc.flush();
    this.timer = setInterval(() => void this.enforceRetention().catch((err) => this.logger.error('retention failed', { err })), this.retentionCheckIntervalMs).unref();
  }

  // ---- local state ----------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new TollstreamError('LOG_CLOSED', 'the stream log is closed; open it again to continue');
  }

  private notFound(name: string): TollstreamError {
    return new TollstreamError('STREAM_NOT_FOUND', `stream '${String(name).slice(0, 140)}' does not exist; create it first`, { context: { stream: name } });
  }

  /** This process's view of a stream, loaded from the metadata on first use. */
  private async state(name: string): Promise<StreamState> {
    this.checkOpen();
    let p = this.streams.get(name);
    if (!p) {
      p = this.load(name);
      this.streams.set(name, p);
      const loading = p;
      loading.then(
        (s) => {
          if (s) settled.set(loading, s);
          else if (this.streams.get(name) === loading) this.streams.delete(name);
        },
        () => this.streams.get(name) === loading && this.streams.delete(name),
      );
    }
    const s = await p;
    this.checkOpen();
    if (!s) throw this.notFound(name);
    return s;
  }

  private async load(name: string): Promise<StreamState | undefined> {
    const { meta } = await this.store.get(name);
    if (!meta) return undefined;
    const state: StreamState = {
      meta,
      id: (meta as JsStreamMeta & { id?: string }).id ?? String(meta.createdAt),
      writers: new Map(),
      counters: new Map(),
      open: [],
      router: new HashRouter([0n]),
      dedupe: meta.dedupe
        ? { window: new DedupeWindow((meta.dedupe.windowSeconds ?? 3600) * 1000, this.dedupeMaxKeys), extractor: meta.dedupe.mode === 'field' ? new FieldExtractor(meta.dedupe.field!) : undefined }
        : undefined,
    };
    this.applyMeta(state, meta);
    // Loading the dedupe window reads the window's messages of every shard; reads need not wait for it,
    // appends do (their writers wait for every shard's part).
    if (state.dedupe) {
      for (const w of state.writers.values()) void w.init().catch((err) => this.logger.warn('cannot load the dedupe window yet', { stream: name, err }));
    }
    return state;
  }

  private messages(meta: JsStreamMeta, shard: JsShardMeta): ShardMessages {
    return new ShardMessages(this.jsm, {
      stream: meta.name,
      shardId: shard.shardId,
      jsStream: this.names.shardStream(meta.name, shard.index),
      subject: this.names.shardSubject(meta.name, shard.index),
    });
  }

  /** Brings a state to `meta`: writers for new shards, routing over the open ones. */
  private applyMeta(state: StreamState, meta: JsStreamMeta): void {
    state.meta = meta;
    for (const shard of meta.shards) {
      if (state.writers.has(shard.index)) continue;
      const counters: ShardCounters = { recordsIn: 0, bytesIn: 0, duplicatesDropped: 0, storedBytes: 0 };
      state.counters.set(shard.index, counters);
      state.writers.set(
        shard.index,
        new ShardWriter({
          nc: this.nc,
          js: this.js,
          messages: this.messages(meta, shard),
          shardIndex: shard.index,
          wakeSubject: this.names.wakeSubject(meta.name, shard.index),
          now: this.now,
          timeoutMs: this.timeoutMs,
          messageBytes: Math.min(MESSAGE_TARGET_BYTES, this.maxPayload - 4096),
          producerId: nuid.next(),
          dedupe: state.dedupe,
          siblings: () => state.writers.values(),
          counters,
        }),
      );
    }
    const kept = new Set(meta.shards.map((s) => s.index));
    for (const index of [...state.writers.keys()]) {
      if (!kept.has(index)) {
        state.writers.delete(index);
        state.counters.delete(index);
      }
    }
    state.open = meta.shards.filter((s) => !s.closing && s.endPosition === undefined).sort((a, b) => (BigInt(a.hashKeyRange.startingHashKey) < BigInt(b.hashKeyRange.startingHashKey) ? -1 : 1));
    state.router = new HashRouter(state.open.map((s) => BigInt(s.hashKeyRange.startingHashKey)));
  }

  /** Reads a stream's metadata again and applies it; drops the state when the stream is gone or was recreated. */
  private async refresh(name: string): Promise<StreamState | undefined> {
    const current = this.streams.get(name);
    const { meta } = await this.store.get(name);
    const s = current ? await current.catch(() => undefined) : undefined;
    if (!meta || !s || ((meta as { id?: string }).id ?? String(meta.createdAt)) !== s.id) {
      if (this.streams.get(name) === current) this.streams.delete(name);
      this.wakeStream(name);
      return meta ? this.state(name) : undefined;
    }
    this.applyMeta(s, meta);
    this.wakeStream(name);
    return s;
  }

  private onChanged(name: string): void {
    if (this.closed || !this.streams.has(name)) return;
    void this.refresh(name).catch((err) => this.logger.warn('cannot reload stream metadata', { stream: name, err }));
  }

  private onWake(subject: string, payload: string): void {
    const at = this.names.parseWake(subject);
    if (!at) return;
    const p = this.streams.get(at.stream);
    if (p) {
      void p.then((s) => {
        const w = s?.writers.get(at.shardIndex);
        if (w) w.announcedSeq = Math.max(w.announcedSeq, Number(payload) || 0);
      }, noop);
    }
    this.wake(`${at.stream}/${at.shardIndex}`);
  }

  private wake(key: string): void {
    this.wakeEpochs.set(key, (this.wakeEpochs.get(key) ?? 0) + 1);
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const f of set) f();
  }

  private wakeStream(name: string): void {
    for (const key of [...this.waiters.keys()]) if (key.startsWith(`${name}/`)) this.wake(key);
  }

  private announce(name: string): void {
    this.nc.publish(this.names.changedSubject(name));
  }

  private admin<T>(op: () => Promise<T>): Promise<T> {
    const run = this.adminQueue.then(op, op);
    this.adminQueue = run.catch(noop);
    return run;
  }

  private shardConfig(meta: Pick<JsStreamMeta, 'name' | 'retentionHours' | 'retentionBytes'>, index: number) {
    return {
      name: this.names.shardStream(meta.name, index),
      subjects: [this.names.shardSubject(meta.name, index)],
      num_replicas: this.replicas,
      max_age: nanos(meta.retentionHours * 3_600_000),
      max_bytes: meta.retentionBytes ?? -1,
      duplicate_window: nanos(120_000),
    };
  }

  private async createShardStream(meta: JsStreamMeta, index: number): Promise<void> {
    try {
      await this.jsm.streams.add(this.shardConfig(meta, index));
    } catch (err) {
      if (!isApiError(err, STREAM_NAME_IN_USE)) throw err;
    }
  }

  private async deleteShardStream(name: string, index: number): Promise<void> {
    try {
      await this.jsm.streams.delete(this.names.shardStream(name, index));
    } catch (err) {
      if (!isApiError(err, STREAM_NOT_FOUND_API)) throw err;
    }
  }

  private wrap<T>(what: string, context: Record<string, unknown>, op: () => Promise<T>): Promise<T> {
    return op().catch((err: unknown) => {
      if (err instanceof TollstreamError) throw err;
      if (this.closed) throw new TollstreamError('LOG_CLOSED', 'the stream log is closed; open it again to continue', { cause: err });
      throw new TollstreamError('IO_ERROR', `cannot ${what}: JetStream answered ${err instanceof Error ? err.message : String(err)}`, { context, cause: err });
    });
  }

  // ---- streams ---------------------------------------------------------------------------------------

  async createStream(name: string, config: StreamConfig = {}): Promise<StreamDescription> {
    this.checkOpen();
    checkStreamName(name);
    const c = checkStreamConfig(name, config, this.defaultRetentionHours);
    return this.admin(() =>
      this.wrap('create the stream', { stream: name }, async () => {
        this.checkOpen();
        const { meta: existing, revision } = await this.store.get(name);
        if (existing) throw new TollstreamError('STREAM_EXISTS', `stream '${name}' already exists`, { context: { stream: name } });
        const meta: JsStreamMeta & { id: string } = {
          version: 1,
          id: nuid.next(),
          name,
          createdAt: this.now(),
          retentionHours: c.retentionHours,
          ...(c.retentionBytes !== undefined ? { retentionBytes: c.retentionBytes } : {}),
          ...(c.dedupe ? { dedupe: c.dedupe } : {}),
          nextShardIndex: c.shardCount,
          shards: splitHashKeyRange(c.shardCount).map((hashKeyRange, index) => ({ shardId: formatShardId(index), index, hashKeyRange, parentShardIds: [] })),
        };
        // Leftovers of a deletion that did not finish must not show up in the new stream.
        await Promise.all(meta.shards.map((s) => this.deleteShardStream(name, s.index)));
        await Promise.all(meta.shards.map((s) => this.createShardStream(meta, s.index)));
        if (!(await this.store.put(name, meta, revision))) throw new TollstreamError('STREAM_EXISTS', `stream '${name}' already exists`, { context: { stream: name } });
        this.streams.delete(name);
        this.announce(name);
        this.logger.info('stream created', { stream: name, shards: c.shardCount });
        return this.describe(await this.state(name));
      }),
    );
  }

  async deleteStream(name: string): Promise<void> {
    this.checkOpen();
    return this.admin(() =>
      this.wrap('delete the stream', { stream: name }, async () => {
        for (;;) {
          const { meta, revision } = await this.store.get(name);
          if (!meta) throw this.notFound(name);
          if (!(await this.store.put(name, undefined, revision))) continue;
          this.streams.delete(name);
          this.wakeStream(name);
          this.announce(name);
          await Promise.all(meta.shards.map((s) => this.deleteShardStream(name, s.index)));
          this.logger.info('stream deleted', { stream: name });
          return;
        }
      }),
    );
  }

  async listStreams(): Promise<readonly StreamSummary[]> {
    this.checkOpen();
    const metas = await this.wrap('list streams', {}, () => this.store.list());
    return metas.map((m) => ({ name: m.name, status: 'ACTIVE' as const, openShardCount: m.shards.filter((s) => !s.closing && s.endPosition === undefined).length, createdAt: m.createdAt }));
  }

  async describeStream(name: string): Promise<StreamDescription> {
    this.checkOpen();
    return this.wrap('describe the stream', { stream: name }, async () => {
      const s = (await this.refresh(name)) ?? (await this.state(name));
      if (s.meta.shards.some((m) => m.closing && m.endPosition === undefined)) {
        // A reshard that did not finish (its process died): finish closing its parents.
        await this.admin(() => this.finishClosing(name));
        return this.describe((await this.refresh(name)) ?? (await this.state(name)));
      }
      return this.describe(s);
    });
  }

  private describe(s: StreamState): StreamDescription {
    const shards: ShardDescription[] = [...s.meta.shards]
      .sort((a, b) => a.index - b.index)
      .map((m) => {
        const prefix = shardPrefix(m.index);
        const start = positionOf(1, 0);
        return {
          shardId: m.shardId,
          hashKeyRange: m.hashKeyRange,
          parentShardIds: m.parentShardIds,
          startingSequenceNumber: formatPosition(prefix, start),
          ...(m.endPosition !== undefined ? { endingSequenceNumber: formatPosition(prefix, m.endPosition === 0 ? start : m.endPosition) } : {}),
        };
      });
    return {
      name: s.meta.name,
      status: 'ACTIVE',
      createdAt: s.meta.createdAt,
      retentionHours: s.meta.retentionHours,
      ...(s.meta.retentionBytes !== undefined ? { retentionBytes: s.meta.retentionBytes } : {}),
      ...(s.meta.dedupe ? { dedupe: s.meta.dedupe } : {}),
      shards,
      openShardCount: s.open.length,
    };
  }

  /** Applies `change` to a stream's metadata with compare-and-set, reading again after a conflict. */
  private async change(name: string, change: (meta: JsStreamMeta) => Promise<JsStreamMeta | undefined> | JsStreamMeta | undefined): Promise<JsStreamMeta> {
    for (;;) {
      const { meta, revision } = await this.store.get(name);
      if (!meta) throw this.notFound(name);
      const next = await change(meta);
      if (!next) return meta;
      if (await this.store.put(name, next, revision)) {
        this.announce(name);
        return next;
      }
    }
  }

  async updateRetention(name: string, retention: { retentionHours?: number; retentionBytes?: number | null }): Promise<StreamDescription> {
    this.checkOpen();
    const hours = retention.retentionHours === undefined ? undefined : checkRetentionHours(retention.retentionHours, name);
    const bytes = retention.retentionBytes === undefined ? undefined : checkRetentionBytes(retention.retentionBytes, name);
    return this.admin(() =>
      this.wrap('update retention', { stream: name }, async () => {
        await this.change(name, async (meta) => {
          const { retentionBytes: oldBytes, ...rest } = meta;
          const newBytes = retention.retentionBytes === undefined ? oldBytes : bytes;
          const next: JsStreamMeta = { ...rest, retentionHours: hours ?? meta.retentionHours, ...(newBytes !== undefined ? { retentionBytes: newBytes } : {}) };
          for (const shard of next.shards) {
            const config = this.shardConfig(next, shard.index);
            await this.jsm.streams.update(config.name, { max_age: config.max_age, max_bytes: config.max_bytes });
          }
          return next;
        });
        return this.describe((await this.refresh(name))!);
      }),
    );
  }

  async updateShardCount(name: string, targetShardCount: number): Promise<StreamDescription> {
    this.checkOpen();
    checkShardCount(targetShardCount, name);
    return this.admin(() =>
      this.wrap('reshard the stream', { stream: name }, async () => {
        await this.finishClosing(name);
        let resharded = false;
        await this.change(name, async (meta) => {
          const parents = meta.shards.filter((m) => !m.closing && m.endPosition === undefined);
          const current = parents.length;
          if (targetShardCount > current * 2 || targetShardCount * 2 < current) {
            throw new TollstreamError(
              'LIMIT_EXCEEDED',
              `a stream with ${current} open shards can scale to between ${Math.ceil(current / 2)} and ${Math.min(current * 2, MAX_SHARDS)} shards in one step, not ${targetShardCount}`,
              { context: { stream: name } },
            );
          }
          if (targetShardCount === current) return undefined;
          const children: JsShardMeta[] = splitHashKeyRange(targetShardCount).map((hashKeyRange, i) => ({
            shardId: formatShardId(meta.nextShardIndex + i),
            index: meta.nextShardIndex + i,
            hashKeyRange,
            parentShardIds: parents.filter((p) => rangesOverlap(p.hashKeyRange, hashKeyRange)).map((p) => p.shardId),
          }));
          await Promise.all(children.map((c) => this.createShardStream(meta, c.index)));
          resharded = true;
          return {
            ...meta,
            nextShardIndex: meta.nextShardIndex + targetShardCount,
            shards: [...meta.shards.map((m) => (parents.includes(m) ? { ...m, closing: true as const } : m)), ...children],
          };
        });
        // Routing now goes to the children; the parents get their end markers.
        await this.finishClosing(name);
        if (resharded) this.logger.info('stream resharded', { stream: name, to: targetShardCount });
        return this.describe((await this.refresh(name))!);
      }),
    );
  }

  /** Writes the end marker of every closing shard and records where each ended. */
  private async finishClosing(name: string): Promise<void> {
    const { meta } = await this.store.get(name);
    if (!meta) throw this.notFound(name);
    const closing = meta.shards.filter((m) => m.closing && m.endPosition === undefined);
    if (closing.length === 0) return;
    const ends = new Map<number, number>();
    await Promise.all(closing.map(async (shard) => ends.set(shard.index, await this.closeShard(meta, shard))));
    await this.change(name, (m) => ({
      ...m,
      shards: m.shards.map((s) => (ends.has(s.index) && s.endPosition === undefined ? { shardId: s.shardId, index: s.index, hashKeyRange: s.hashKeyRange, parentShardIds: s.parentShardIds, endPosition: ends.get(s.index)! } : s)),
    }));
  }

  /**
   * Appends the end marker after the shard's last message, with the same expected-sequence check writers use,
   * so no record can be stored after it; returns the position of the last record (0 when none).
   */
  private async closeShard(meta: JsStreamMeta, shard: JsShardMeta): Promise<number> {
    const messages = this.messages(meta, shard);
    for (;;) {
      const { lastSeq } = await messages.state();
      const last = lastSeq > 0 ? await messages.next(lastSeq) : undefined;
      if (last?.kind === 'end') return last.endPosition;
      const end = last && last.message.seq === lastSeq ? positionOf(lastSeq, last.message.header.recordCount - 1) : lastSeq > 0 ? positionOf(lastSeq, 0) : 0;
      try {
        await this.js.publish(messages.loc.subject, new TextEncoder().encode(JSON.stringify({ endPosition: end })), {
          headers: endMarkerHeaders(end),
          expect: { lastSequence: lastSeq },
          timeout: this.timeoutMs,
        });
        this.nc.publish(this.names.wakeSubject(meta.name, shard.index), String(lastSeq + 1));
        return end;
      } catch (err) {
        if (!isApiError(err, WRONG_LAST_SEQUENCE)) throw err;
      }
    }
  }

  // ---- records --------------------------------------------------------------------------------------

  async append(stream: string, records: readonly AppendRecord[]): Promise<readonly AppendResult[]> {
    let s = await this.wrap('append', { stream }, () => this.state(stream));
    if (!Array.isArray(records)) throw new TollstreamError('INVALID_ARGUMENT', 'records must be an array', { context: { stream } });
    const n = records.length;
    const encodable: EncodableRecord[] = new Array(n);
    const hashes: Array<bigint | undefined> = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      checkRecord(r, stream, i);
      if (encodedSize(r) > this.maxPayload - 4096) {
        throw new TollstreamError('LIMIT_EXCEEDED', `record ${i}: ${r.data.length} bytes do not fit a message under the NATS servers' max_payload of ${this.maxPayload} bytes; raise max_payload to 8MB`, {
          context: { stream, record: i },
        });
      }
      const hash = r.explicitHashKey !== undefined ? parseExplicitHashKey(r.explicitHashKey) : undefined;
      hashes[i] = hash;
      encodable[i] =
        hash === undefined
          ? (r as EncodableRecord)
          : { partitionKey: r.partitionKey, data: r.data, explicitHashKey: hash, ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}) };
    }
    const results: AppendResult[] = new Array(n);
    let pending = Array.from({ length: n }, (_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      const rerouted: number[] = [];
      const groups = new Map<number, number[]>();
      for (const i of pending) {
        const r = records[i]!;
        const g = s.open.length === 1 ? 0 : hashes[i] !== undefined ? s.router.indexOfHash(hashes[i]!) : s.router.indexOfKey(r.partitionKey);
        const list = groups.get(g);
        if (list) list.push(i);
        else groups.set(g, [i]);
      }
      const waits: Array<Promise<void>> = [];
      for (const [g, indexes] of groups) {
        const writer = s.writers.get(s.open[g]!.index)!;
        for (const job of this.jobs(indexes, encodable, results)) {
          waits.push(
            new Promise<void>((resolve, reject) => {
              writer.submit({ ...job, resolve, reject });
            }).catch((err: unknown) => {
              if (err instanceof ShardClosed) rerouted.push(...job.indexes);
              else for (const i of job.indexes) results[i] = { ok: false, errorCode: 'InternalFailure', errorMessage: String(err) };
            }),
          );
        }
      }
      await Promise.all(waits);
      if (rerouted.length === 0) break;
      if (attempt >= REROUTE_ATTEMPTS) {
        for (const i of rerouted) results[i] = { ok: false, errorCode: 'InternalFailure', errorMessage: 'the shard kept closing under this append; retry' };
        break;
      }
      // A reshard closed a shard: read the new routing (waiting for it briefly if it is not written yet).
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * attempt));
      s = (await this.wrap('append', { stream }, () => this.refresh(stream))) ?? (await this.state(stream));
      pending = rerouted.sort((a, b) => a - b);
    }
    return results;
  }

  /** Splits one shard's records of a call into jobs that each fit a message (usually one job). */
  private *jobs(indexes: number[], encodable: EncodableRecord[], results: AppendResult[]): Generator<Omit<WriteJob, 'resolve' | 'reject'>> {
    const limit = Math.min(MESSAGE_TARGET_BYTES, this.maxPayload - 4096);
    let start = 0;
    let bytes = 0;
    const part = (from: number, to: number, size: number) => ({
      records: indexes.slice(from, to).map((i) => encodable[i]!),
      indexes: indexes.slice(from, to),
      results,
      bytes: size,
    });
    for (let k = 0; k < indexes.length; k++) {
      const size = encodedSize(encodable[indexes[k]!]!);
      if (k > start && bytes + size > limit) {
        yield part(start, k, bytes);
        start = k;
        bytes = 0;
      }
      bytes += size;
    }
    if (indexes.length > start) yield part(start, indexes.length, bytes);
  }

  private shardOf(s: StreamState, shardId: string): JsShardMeta {
    const index = parseShardId(shardId);
    const shard = index === undefined ? undefined : s.meta.shards.find((m) => m.index === index);
    if (!shard) {
      throw new TollstreamError('SHARD_NOT_FOUND', `stream '${s.meta.name}' has no shard '${String(shardId).slice(0, 64)}'; describe the stream for its shards`, {
        context: { stream: s.meta.name, shardId },
      });
    }
    return shard;
  }

  async read(stream: string, shardId: string, from: StartPosition, limits: ReadLimits = {}): Promise<ReadResult> {
    const maxRecords = checkLimit(limits.maxRecords, 'maxRecords', DEFAULT_MAX_RECORDS);
    const maxBytes = checkLimit(limits.maxBytes, 'maxBytes', DEFAULT_MAX_BYTES);
    return this.wrap('read', { stream, shardId }, async () => {
      const s = await this.state(stream);
      const shard = this.shardOf(s, shardId);
      const messages = this.messages(s.meta, shard);
      const start = await resolveStart(messages, shard, from);
      const result = await readShard(messages, shard, start, maxRecords, maxBytes, () => s.meta.shards.filter((m) => m.parentShardIds.includes(shardId)).map((m) => m.shardId));
      this.checkOpen();
      return result;
    });
  }

  subscribe(stream: string, shardId: string, from: StartPosition, options: ReadLimits & { signal?: AbortSignal } = {}): Subscription {
    this.checkOpen();
    // A stream this process has loaded is checked now; another is loaded by the first read.
    const cached = this.streams.get(stream);
    const known = cached ? settled.get(cached) : undefined;
    if (known) this.shardOf(known, shardId);
    else if (parseShardId(shardId) === undefined) {
      throw new TollstreamError('SHARD_NOT_FOUND', `stream '${stream}' has no shard '${String(shardId).slice(0, 64)}'`, { context: { stream, shardId } });
    }
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
    const key = `${stream}/${parseShardId(shardId)}`;
    const log = this;
    async function* follow(): AsyncGenerator<ReadResult> {
      let position: StartPosition = from;
      let reads = 0;
      try {
        while (!signal.aborted && !log.closed) {
          const epoch = log.wakeEpochs.get(key) ?? 0;
          let result: ReadResult;
          try {
            result = await log.read(stream, shardId, position, limits);
            reads++;
          } catch (err) {
            // The stream was deleted (or the log closed) under the subscription: it ends. A stream missing
            // from the start is the caller's error.
            if ((err instanceof TollstreamError && ((err.code === 'STREAM_NOT_FOUND' && reads > 0) || err.code === 'LOG_CLOSED')) || signal.aborted) return;
            throw err;
          }
          if (signal.aborted) return;
          if (result.records.length > 0 || result.next === null) yield result;
          if (result.next === null) return;
          position = result.next;
          if (result.records.length === 0 && (log.wakeEpochs.get(key) ?? 0) === epoch) await log.waitForWake(key, signal);
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

  private waitForWake(key: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.get(key)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.wakeFallbackMs);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  // ---- upkeep ---------------------------------------------------------------------------------------

  stats(): LogStats {
    const shards: LogStats['shards'][number][] = [];
    const dedupe: NonNullable<LogStats['dedupe']>[number][] = [];
    for (const p of this.streams.values()) {
      const s = settled.get(p);
      if (!s) continue;
      for (const [index, c] of s.counters) {
        const w = s.writers.get(index)!;
        shards.push({
          stream: s.meta.name,
          shardId: formatShardId(index),
          recordsIn: c.recordsIn,
          bytesIn: c.bytesIn,
          duplicatesDropped: c.duplicatesDropped,
          storedBytes: c.storedBytes,
          ...(w.lastPosition > 0 ? { latestSequenceNumber: formatPosition(shardPrefix(index), w.lastPosition), latestArrivalTime: w.lastTime } : {}),
        });
      }
      if (s.dedupe) dedupe.push({ stream: s.meta.name, keys: s.dedupe.window.keys, bytes: s.dedupe.window.bytes });
    }
    return { shards, dedupe, fsyncDurationsMs: [] };
  }

  /** Updates stored sizes, and drops closed shards whose records all expired (their JetStream streams too). */
  async enforceRetention(): Promise<void> {
    this.checkOpen();
    for (const [name, p] of [...this.streams]) {
      const s = await p.catch(() => undefined);
      if (!s || this.closed) continue;
      const emptied: number[] = [];
      for (const shard of s.meta.shards) {
        const state = await this.messages(s.meta, shard).state().catch(() => undefined);
        if (!state) continue;
        const c = s.counters.get(shard.index);
        if (c) c.storedBytes = state.bytes;
        // A closed shard holds nothing but (perhaps) its end marker once its records expired.
        if (shard.endPosition !== undefined && (state.messages === 0 || (state.messages === 1 && (await this.messages(s.meta, shard).next(state.firstSeq))?.kind === 'end'))) {
          emptied.push(shard.index);
        }
      }
      if (emptied.length === 0) continue;
      await this.admin(async () => {
        await this.change(name, (m) => ({ ...m, shards: m.shards.filter((x) => !emptied.includes(x.index)) }));
        for (const index of emptied) await this.deleteShardStream(name, index);
        await this.refresh(name);
        this.logger.info('dropped closed shards whose records all expired', { stream: name, shards: emptied.map(formatShardId) });
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.adminQueue.catch(noop);
    for (const p of this.streams.values()) {
      const s = await p.catch(() => undefined);
      if (s) for (const w of s.writers.values()) await w.idle();
    }
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const key of [...this.waiters.keys()]) this.wake(key);
    for (const sub of this.subs) sub.unsubscribe();
    await this.nc.drain().catch(noop);
  }
}

/** A bound of a record's bytes in a batch. */
function encodedSize(r: { readonly data: Uint8Array; readonly partitionKey: string; readonly idempotencyKey?: string }): number {
  return 64 + r.data.length + r.partitionKey.length * 3 + (r.idempotencyKey?.length ?? 0) * 3;
}

/** Stream states whose load finished, for the synchronous `stats()`. */
const settled = new WeakMap<Promise<StreamState | undefined>, StreamState>();
