/**
 * This process's view of the log's streams: each stream's metadata as last read, its shard writers and
 * routing, its dedupe window; and the subscriptions waiting for a shard's next records. Kept current by the
 * `changed` and `wake` messages every process publishes (see log.ts), and read again on demand.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { DedupeWindow, FieldExtractor, warnWhenCutShort } from '../dedupe.ts';
import { streamDescription } from '../description.ts';
import { HashRouter, parseShardId } from '../hashkey.ts';
import type { ShardDescription, StreamDescription } from '../types.ts';
import { DEFAULT_DEDUPE_WINDOW_SECONDS } from '../validate.ts';
import { ShardMessages } from './messages.ts';
import type { JsShardMeta, JsStreamMeta, MetaStore } from './metadata.ts';
import type { Names } from './names.ts';
import { formatPosition, positionOf, shardPrefix } from './sequence.ts';
import { ShardWriter } from './writer.ts';
import type { ShardCounters, StreamDedupe } from './writer.ts';

export interface StreamState {
  meta: JsStreamMeta;
  /** Tells a stream from a later one of the same name. */
  readonly id: string;
  writers: Map<number, ShardWriter>;
  counters: Map<number, ShardCounters>;
  /** Open shards in hash key order, and the router over them. */
  open: JsShardMeta[];
  router: HashRouter;
  dedupe: StreamDedupe | undefined;
}

export interface ViewOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly store: MetaStore;
  readonly now: () => number;
  readonly timeoutMs: number;
  /** Messages are filled up to about this many bytes. */
  readonly messageBytes: number;
  readonly dedupeMaxKeys: number;
  readonly wakeFallbackMs: number;
  readonly logger: Logger;
  /** Throws `LOG_CLOSED` once the log is closed. */
  readonly checkOpen: () => void;
}

const noop = (): void => undefined;

export function streamNotFound(name: string): TollstreamError {
  return new TollstreamError('STREAM_NOT_FOUND', `stream '${String(name).slice(0, 140)}' does not exist; create it first`, { context: { stream: name } });
}

export function isOpenShard(s: JsShardMeta): boolean {
  return !s.closing && s.endPosition === undefined;
}

/** A reshard is under way while a parent left routing but its end marker is not recorded yet. */
export function isResharding(meta: JsStreamMeta): boolean {
  return meta.shards.some((m) => m.closing && m.endPosition === undefined);
}

function idOf(meta: JsStreamMeta): string {
  return (meta as JsStreamMeta & { id?: string }).id ?? String(meta.createdAt);
}

export class StreamViews {
  private readonly streams = new Map<string, Promise<StreamState | undefined>>();
  /** States whose load finished, for synchronous callers (`stats`, `subscribe`). */
  private readonly settled = new WeakMap<Promise<StreamState | undefined>, StreamState>();
  /** Subscriptions waiting for new records, by `stream/shardIndex`; each is woken once. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Bumped on every wake of a shard, so a reader can tell whether it missed one while reading. */
  private readonly wakeEpochs = new Map<string, number>();

  constructor(private readonly o: ViewOptions) {}

  /** A stream's state, loaded from the metadata on first use; `STREAM_NOT_FOUND` if there is none. */
  async get(name: string): Promise<StreamState> {
    this.o.checkOpen();
    let p = this.streams.get(name);
    if (!p) {
      const loading = this.load(name);
      p = loading;
      this.streams.set(name, loading);
      loading.then(
        (s) => {
          if (s) this.settled.set(loading, s);
          else if (this.streams.get(name) === loading) this.streams.delete(name);
        },
        () => this.streams.get(name) === loading && this.streams.delete(name),
      );
    }
    const s = await p;
    this.o.checkOpen();
    if (!s) throw streamNotFound(name);
    return s;
  }

  /** The state of a stream already loaded, if any. */
  peek(name: string): StreamState | undefined {
    const p = this.streams.get(name);
    return p ? this.settled.get(p) : undefined;
  }

  /** Every loaded state. */
  loaded(): StreamState[] {
    const out: StreamState[] = [];
    for (const p of this.streams.values()) {
      const s = this.settled.get(p);
      if (s) out.push(s);
    }
    return out;
  }

  /** Forgets a stream (deleted); its waiting subscriptions wake and find it gone. */
  drop(name: string): void {
    this.streams.delete(name);
    this.wakeStream(name);
  }

  private async load(name: string): Promise<StreamState | undefined> {
    const { meta } = await this.o.store.get(name);
    if (!meta) return undefined;
    const state: StreamState = {
      meta,
      id: idOf(meta),
      writers: new Map(),
      counters: new Map(),
      open: [],
      router: new HashRouter([0n]),
      dedupe: meta.dedupe
        ? { window: new DedupeWindow((meta.dedupe.windowSeconds ?? DEFAULT_DEDUPE_WINDOW_SECONDS) * 1000, this.o.dedupeMaxKeys), extractor: meta.dedupe.mode === 'field' ? new FieldExtractor(meta.dedupe.field!) : undefined }
        : undefined,
    };
    if (state.dedupe) warnWhenCutShort(state.dedupe.window, meta.name, this.o.logger);
    this.apply(state, meta);
    // Loading the dedupe window reads the window's messages of every shard; reads need not wait for it,
    // appends do (their writers wait for every shard's part).
    if (state.dedupe) {
      for (const w of state.writers.values()) void w.init().catch((err) => this.o.logger.warn('cannot load the dedupe window yet', { stream: name, err }));
    }
    return state;
  }

  messages(meta: JsStreamMeta, shard: JsShardMeta): ShardMessages {
    return new ShardMessages(this.o.jsm, {
      stream: meta.name,
      shardId: shard.shardId,
      jsStream: this.o.names.shardStream(meta.name, shard.index),
      subject: this.o.names.shardSubject(meta.name, shard.index),
    });
  }

  /** Brings a state to `meta`: writers for new shards, routing over the open ones. */
  private apply(state: StreamState, meta: JsStreamMeta): void {
    state.meta = meta;
    for (const shard of meta.shards) {
      if (state.writers.has(shard.index)) continue;
      const counters: ShardCounters = { recordsIn: 0, bytesIn: 0, duplicatesDropped: 0, storedBytes: 0 };
      state.counters.set(shard.index, counters);
      state.writers.set(
        shard.index,
        new ShardWriter({
          nc: this.o.nc,
          js: this.o.js,
          messages: this.messages(meta, shard),
          shardIndex: shard.index,
          wakeSubject: this.o.names.wakeSubject(meta.name, shard.index),
          now: this.o.now,
          timeoutMs: this.o.timeoutMs,
          messageBytes: this.o.messageBytes,
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
    state.open = meta.shards.filter(isOpenShard).sort((a, b) => (BigInt(a.hashKeyRange.startingHashKey) < BigInt(b.hashKeyRange.startingHashKey) ? -1 : 1));
    state.router = new HashRouter(state.open.map((s) => BigInt(s.hashKeyRange.startingHashKey)));
  }

  /** Reads a stream's metadata again and applies it; drops the state when the stream is gone or was recreated. */
  async refresh(name: string): Promise<StreamState | undefined> {
    const current = this.streams.get(name);
    const { meta } = await this.o.store.get(name);
    const s = current ? await current.catch(() => undefined) : undefined;
    if (!meta || !s || idOf(meta) !== s.id) {
      if (this.streams.get(name) === current) this.streams.delete(name);
      this.wakeStream(name);
      return meta ? this.get(name) : undefined;
    }
    this.apply(s, meta);
    this.wakeStream(name);
    return s;
  }

  /** Another process changed a stream's metadata. */
  onChanged(name: string): void {
    if (!this.streams.has(name)) return;
    void this.refresh(name).catch((err) => this.o.logger.warn('cannot reload stream metadata', { stream: name, err }));
  }

  /** The JetStream stream `jsStream` (one shard of a stream) elected a leader. */
  onLeaderElected(jsStream: string): void {
    for (const p of this.streams.values()) {
      void p.then((s) => {
        for (const w of s?.writers.values() ?? []) if (w.jsStream === jsStream) w.leaderElected();
      }, noop);
    }
  }

  /** A process stored message `seq` in a shard. */
  onWake(stream: string, shardIndex: number, seq: number): void {
    const p = this.streams.get(stream);
    if (p) {
      void p.then((s) => {
        const w = s?.writers.get(shardIndex);
        if (w) w.announcedSeq = Math.max(w.announcedSeq, seq);
      }, noop);
    }
    this.wake(`${stream}/${shardIndex}`);
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

  /** Wakes every waiting subscription (the log closes). */
  wakeAll(): void {
    for (const key of [...this.waiters.keys()]) this.wake(key);
  }

  /** How many wakes a shard had: read before reading, compared after, so no wake falls between. */
  wakeEpoch(stream: string, shardId: string): number {
    return this.wakeEpochs.get(`${stream}/${parseShardId(shardId)}`) ?? 0;
  }

  /** Resolves on the shard's next wake, an abort, or after the fallback time. */
  waitForWake(stream: string, shardId: string, signal: AbortSignal): Promise<void> {
    const key = `${stream}/${parseShardId(shardId)}`;
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.get(key)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.o.wakeFallbackMs);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }
}

export function shardOf(s: StreamState, shardId: string): JsShardMeta {
  const index = parseShardId(shardId);
  const shard = index === undefined ? undefined : s.meta.shards.find((m) => m.index === index);
  if (!shard) {
    throw new TollstreamError('SHARD_NOT_FOUND', `stream '${s.meta.name}' has no shard '${String(shardId).slice(0, 64)}'; describe the stream for its shards`, {
      context: { stream: s.meta.name, shardId },
    });
  }
  return shard;
}

export function describeState(s: StreamState): StreamDescription {
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
  return streamDescription(s.meta, isResharding(s.meta) ? 'UPDATING' : 'ACTIVE', shards, s.open.length);
}
