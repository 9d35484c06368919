/**
 * The JetStream backend of the stream log: each shard is a replicated JetStream stream, each append call one
 * message per shard holding the call's records as a batch; stream metadata lives in a JetStream stream too
 * (`metadata.ts`). Any number of processes may open the log over the same cluster and prefix: every one
 * serves every stream. See docs/log.md for the mapping, the sequence numbers and the guarantees.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node';
import { TollstreamError } from '../../core/errors.ts';
import { silentLogger } from '../../core/logger.ts';
import type { Logger } from '../../core/logger.ts';
import type { EncodableRecord } from '../batch.ts';
import { dedupeStats } from '../dedupe.ts';
import { formatShardId, parseExplicitHashKey, parseShardId } from '../hashkey.ts';
import { planMerge, planSplit, planUniform } from '../reshard.ts';
import type { AppendRecord, AppendResult, LogHealth, LogStats, ReadLimits, ReadResult, StartPosition, StreamConfig, StreamConsumer, StreamDescription, StreamLog, StreamMode, StreamSummary, StreamTags, Subscription } from '../types.ts';
import { checkLimit, checkRecord, checkRetentionBytes, checkRetentionHours, checkShardCount, checkStreamConfig, checkStreamMode, checkStreamName, checkTags, checkConsumerName, MAX_CONSUMERS } from '../validate.ts';
import { StreamAdmin } from './admin.ts';
import { MetaStore } from './metadata.ts';
import { Names } from './names.ts';
import { readShard, resolveStart } from './read.ts';
import { formatPosition, shardPrefix } from './sequence.ts';
import { shardOf, StreamViews } from './views.ts';
import { ShardClosed } from './writer.ts';
import type { WriteJob } from './writer.ts';

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

export interface JetStreamStreamLog extends StreamLog {
  /** Drops expired closed shards now (tests, an admin command); it also runs on a timer. */
  enforceRetention(): Promise<void>;
  /**
   * 32 random bytes kept in the cluster under `name`, made by the first process to ask: the same for every
   * process of the cluster (e.g. the key signing shard iterators, so that any node accepts another's).
   */
  sharedSecret(name: string): Promise<Buffer>;
}

const DEFAULT_MAX_RECORDS = 10_000;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const MESSAGE_TARGET_BYTES = 1024 * 1024;
const REROUTE_ATTEMPTS = 10;
/** How often the client pings its server, in ms; two pings unanswered and it moves to another server. */
const PING_INTERVAL_MS = 10_000;
/** Where JetStream announces that a stream elected a leader; the last token is the stream's name. */
const LEADER_ELECTED_SUBJECTS = '$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.*';
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
  private views!: StreamViews;
  private store!: MetaStore;
  private streamAdmin!: StreamAdmin;
  private maxPayload = 1024 * 1024;
  private subs: NatsSubscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** False from the connection's loss until the client is connected to a server again (`watchConnection`). */
  private connected = true;
  /** Admin operations of this process run one at a time. */
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
        // A server that stops answering without closing the connection (a cut cable, a dead switch) is noticed
        // after two pings unanswered: 20 to 30 s, where the client's default (two minutes a ping) takes 4 to 6 min.
        pingInterval: PING_INTERVAL_MS,
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
      const js = jetstream(this.nc, { timeout: this.timeoutMs });
      const jsm = await jetstreamManager(this.nc, { timeout: this.timeoutMs });
      const store = new MetaStore(jsm, js, this.names, this.replicas, this.timeoutMs);
      await store.init();
      this.store = store;
      const common = { nc: this.nc, js, jsm, names: this.names, store, now: this.now, timeoutMs: this.timeoutMs, logger: this.logger };
      this.views = new StreamViews({
        ...common,
        messageBytes: Math.min(MESSAGE_TARGET_BYTES, this.maxPayload - 4096),
        dedupeMaxKeys: this.dedupeMaxKeys,
        wakeFallbackMs: this.wakeFallbackMs,
        checkOpen: () => this.checkOpen(),
      });
      this.streamAdmin = new StreamAdmin({ ...common, views: this.views, replicas: this.replicas });
    } catch (err) {
      await this.nc.close().catch(noop);
      throw new TollstreamError('IO_ERROR', `JetStream of the NATS servers ${this.options.servers.join(', ')} is not available: ${(err as Error).message}`, {
        context: { servers: this.options.servers },
        cause: err,
      });
    }
    this.subs.push(
      this.nc.subscribe(this.names.wakeSubjects, {
        callback: (_err, m) => {
          const at = this.names.parseWake(m.subject);
          if (at) this.views.onWake(at.stream, at.shardIndex, Number(m.string()) || 0);
        },
      }),
    );
    // JetStream announces each stream's new leader: a publish still waiting on the one before is sent again then.
    this.subs.push(
      this.nc.subscribe(LEADER_ELECTED_SUBJECTS, {
        callback: (_err, m) => {
          const jsStream = m.subject.slice(LEADER_ELECTED_SUBJECTS.length - 1);
          if (!this.closed && jsStream.startsWith(`${this.names.prefix}_`)) this.views.onLeaderElected(jsStream);
        },
      }),
    );
    this.subs.push(
      this.nc.subscribe(this.names.changedSubjects, {
        callback: (_err, m) => {
          if (!this.closed) this.views.onChanged(this.names.streamOfChanged(m.subject));
        },
      }),
    );
    this.watchConnection(this.nc);
    await this.nc.flush();
    this.timer = setInterval(() => void this.enforceRetention().catch((err) => this.logger.error('retention failed', { err })), this.retentionCheckIntervalMs).unref();
  }

  private checkOpen(): void {
    if (this.closed) throw new TollstreamError('LOG_CLOSED', 'the stream log is closed; open it again to continue');
  }

  private admin<T>(what: string, stream: string, op: () => Promise<T>): Promise<T> {
    const run = () => this.wrap(what, { stream }, () => {
      this.checkOpen();
      return op();
    });
    const result = this.adminQueue.then(run, run);
    this.adminQueue = result.catch(noop);
    return result;
  }

  /** Turns what JetStream throws into `IO_ERROR` (or `LOG_CLOSED` after close), naming what failed. */
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
    return this.admin('create the stream', name, () => this.streamAdmin.create(name, c));
  }

  async deleteStream(name: string): Promise<void> {
    this.checkOpen();
    return this.admin('delete the stream', name, () => this.streamAdmin.remove(name));
  }

  async listStreams(): Promise<readonly StreamSummary[]> {
    this.checkOpen();
    return this.wrap('list streams', {}, () => this.streamAdmin.list());
  }

  async describeStream(name: string): Promise<StreamDescription> {
    this.checkOpen();
    return this.admin('describe the stream', name, () => this.streamAdmin.describe(name));
  }

  async updateRetention(name: string, retention: { retentionHours?: number; retentionBytes?: number | null }): Promise<StreamDescription> {
    this.checkOpen();
    const hours = retention.retentionHours === undefined ? undefined : checkRetentionHours(retention.retentionHours, name);
    const bytes = retention.retentionBytes === undefined ? undefined : { value: checkRetentionBytes(retention.retentionBytes, name) };
    return this.admin('update retention', name, () => this.streamAdmin.updateRetention(name, hours, bytes));
  }

  async updateTags(name: string, change: { set?: StreamTags; remove?: readonly string[] }): Promise<StreamDescription> {
    this.checkOpen();
    const set = change.set === undefined ? {} : checkTags(change.set, name);
    const remove = change.remove ?? [];
    if (!Array.isArray(remove) || remove.some((k) => typeof k !== 'string')) throw new TollstreamError('INVALID_ARGUMENT', 'remove must be a list of tag keys', { context: { stream: name } });
    return this.admin('update the tags', name, async () => {
      await this.streamAdmin.updateSettings(name, (meta) => {
        const { tags: old, ...rest } = meta;
        const merged: Record<string, string> = { ...old, ...set };
        for (const key of remove) delete merged[key];
        const tags = checkTags(merged, name);
        return { ...rest, ...(Object.keys(tags).length > 0 ? { tags } : {}) };
      });
      return this.streamAdmin.describe(name);
    });
  }

  async updateStreamMode(name: string, mode: StreamMode): Promise<StreamDescription> {
    this.checkOpen();
    checkStreamMode(mode, name);
    return this.admin('update the stream mode', name, async () => {
      await this.streamAdmin.updateSettings(name, (meta) => {
        const { mode: _old, ...rest } = meta;
        return { ...rest, ...(mode === 'on-demand' ? { mode } : {}) };
      });
      return this.streamAdmin.describe(name);
    });
  }

  async registerConsumer(name: string, consumerName: string): Promise<StreamConsumer> {
    this.checkOpen();
    checkConsumerName(consumerName, name);
    const consumer: StreamConsumer = { name: consumerName, createdAt: this.now() };
    await this.admin('register a consumer', name, () =>
      this.streamAdmin.updateSettings(name, (meta) => {
        const consumers = meta.consumers ?? [];
        if (consumers.some((c) => c.name === consumerName)) {
          throw new TollstreamError('CONSUMER_EXISTS', `stream '${name}' already has a consumer named '${consumerName}'`, { context: { stream: name, consumer: consumerName } });
        }
        if (consumers.length >= MAX_CONSUMERS) {
          throw new TollstreamError('LIMIT_EXCEEDED', `stream '${name}' already has ${MAX_CONSUMERS} consumers, the most it can have; deregister one first`, {
            context: { stream: name, limit: MAX_CONSUMERS },
          });
        }
        return { ...meta, consumers: [...consumers, consumer] };
      }),
    );
    return { ...consumer };
  }

  async deregisterConsumer(name: string, consumerName: string): Promise<void> {
    this.checkOpen();
    await this.admin('deregister a consumer', name, () =>
      this.streamAdmin.updateSettings(name, (meta) => {
        const consumers = meta.consumers ?? [];
        if (!consumers.some((c) => c.name === consumerName)) {
          throw new TollstreamError('NOT_FOUND', `stream '${name}' has no consumer named '${String(consumerName).slice(0, 140)}'`, { context: { stream: name, consumer: consumerName } });
        }
        const { consumers: _old, ...rest } = meta;
        const left = consumers.filter((c) => c.name !== consumerName);
        return { ...rest, ...(left.length > 0 ? { consumers: left } : {}) };
      }),
    );
  }

  async updateShardCount(name: string, targetShardCount: number): Promise<StreamDescription> {
    this.checkOpen();
    checkShardCount(targetShardCount, name);
    return this.admin('reshard the stream', name, () => this.streamAdmin.reshard(name, (shards) => planUniform(name, shards, targetShardCount)));
  }

  async splitShard(name: string, shardId: string, newStartingHashKey: string): Promise<StreamDescription> {
    this.checkOpen();
    return this.admin('split a shard', name, () => this.streamAdmin.reshard(name, (shards) => planSplit(name, shards, shardId, newStartingHashKey)));
  }

  async mergeShards(name: string, shardId: string, adjacentShardId: string): Promise<StreamDescription> {
    this.checkOpen();
    return this.admin('merge shards', name, () => this.streamAdmin.reshard(name, (shards) => planMerge(name, shards, shardId, adjacentShardId)));
  }

  async sharedSecret(name: string): Promise<Buffer> {
    this.checkOpen();
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) throw new TollstreamError('INVALID_ARGUMENT', `secret name '${name}' must be 1 to 64 letters, digits, '_' or '-'`);
    return this.wrap('read the shared secret', { secret: name }, () => this.store.sharedSecret(name));
  }

  // ---- records --------------------------------------------------------------------------------------

  async append(stream: string, records: readonly AppendRecord[]): Promise<readonly AppendResult[]> {
    let s = await this.wrap('append', { stream }, () => this.views.get(stream));
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
      s = (await this.wrap('append', { stream }, () => this.views.refresh(stream))) ?? (await this.views.get(stream));
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

  async read(stream: string, shardId: string, from: StartPosition, limits: ReadLimits = {}): Promise<ReadResult> {
    const maxRecords = checkLimit(limits.maxRecords, 'maxRecords', DEFAULT_MAX_RECORDS);
    const maxBytes = checkLimit(limits.maxBytes, 'maxBytes', DEFAULT_MAX_BYTES);
    return this.wrap('read', { stream, shardId }, async () => {
      const s = await this.views.get(stream);
      const shard = shardOf(s, shardId);
      const messages = this.views.messages(s.meta, shard);
      const start = await resolveStart(messages, shard, from);
      const result = await readShard(messages, shard, start, maxRecords, maxBytes, () => s.meta.shards.filter((m) => m.parentShardIds.includes(shardId)).map((m) => m.shardId));
      this.checkOpen();
      return result;
    });
  }

  subscribe(stream: string, shardId: string, from: StartPosition, options: ReadLimits & { signal?: AbortSignal } = {}): Subscription {
    this.checkOpen();
    // A stream this process has loaded is checked now; another is loaded by the first read.
    const known = this.views.peek(stream);
    if (known) shardOf(known, shardId);
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
    const log = this;
    async function* follow(): AsyncGenerator<ReadResult> {
      let position: StartPosition = from;
      let reads = 0;
      try {
        while (!signal.aborted && !log.closed) {
          const epoch = log.views.wakeEpoch(stream, shardId);
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
          if (result.records.length === 0 && log.views.wakeEpoch(stream, shardId) === epoch) await log.views.waitForWake(stream, shardId, signal);
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
    const shards: LogStats['shards'][number][] = [];
    const dedupe: NonNullable<LogStats['dedupe']>[number][] = [];
    const now = Date.now();
    for (const s of this.views.loaded()) {
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
      if (s.dedupe) dedupe.push(dedupeStats(s.meta.name, s.dedupe.window, now));
    }
    return { shards, dedupe, fsyncDurationsMs: [] };
  }

  /** Updates stored sizes, and drops closed shards whose records all expired (their JetStream streams too). */
  async enforceRetention(): Promise<void> {
    this.checkOpen();
    for (const s of this.views.loaded()) {
      if (this.closed) return;
      const name = s.meta.name;
      const emptied = await this.wrap('check retention', { stream: name }, () => this.streamAdmin.expiredClosedShards(s));
      if (emptied.length > 0) await this.admin('drop expired shards', name, () => this.streamAdmin.dropShards(name, emptied));
    }
  }

  health(): LogHealth {
    return { failedShards: [], reachable: this.connected && !this.nc.isClosed() };
  }

  /** Follows the connection's state for `health()`, and says in the log when it is lost and when it is back. */
  private watchConnection(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect' && this.connected && !this.closed) {
          this.connected = false;
          this.logger.warn('lost the connection to the NATS cluster; writes wait until it is back', { server: status.server });
        } else if (status.type === 'reconnect' && !this.connected) {
          this.connected = true;
          this.logger.info('connected to the NATS cluster again', { server: status.server });
        }
      }
    })().catch((err: unknown) => this.logger.error('following the NATS connection failed', { err }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.adminQueue.catch(noop);
    for (const s of this.views.loaded()) for (const w of s.writers.values()) await w.idle();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.views.wakeAll();
    for (const sub of this.subs) sub.unsubscribe();
    await this.nc.drain().catch(noop);
  }
}

/** A bound of a record's bytes in a batch. */
function encodedSize(r: { readonly data: Uint8Array; readonly partitionKey: string; readonly idempotencyKey?: string }): number {
  return 64 + r.data.length + r.partitionKey.length * 3 + (r.idempotencyKey?.length ?? 0) * 3;
}

