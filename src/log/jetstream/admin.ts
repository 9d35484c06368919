/**
 * Stream administration on JetStream: creating and deleting streams (the metadata and one JetStream stream per
 * shard), retention, resharding and closing shards with their end markers, dropping expired closed shards.
 * Every metadata change is a compare-and-set (`metadata.ts`) announced on the stream's `changed` subject.
 * The log runs these one at a time per process (log.ts); across processes the compare-and-set orders them.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { nanos, nuid } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { formatShardId, splitHashKeyRange } from '../hashkey.ts';
import type { PlannedShard, ReshardPlan } from '../reshard.ts';
import type { DedupeConfig, StreamDescription, StreamMode, StreamSummary, StreamTags } from '../types.ts';
import { endMarkerHeaders } from './messages.ts';
import { isApiError, WRONG_LAST_SEQUENCE } from './metadata.ts';
import type { JsShardMeta, JsStreamMeta, MetaStore } from './metadata.ts';
import type { Names } from './names.ts';
import { positionOf } from './sequence.ts';
import { describeState, isOpenShard, isResharding, streamNotFound } from './views.ts';
import type { StreamState, StreamViews } from './views.ts';
import { DUPLICATE_WINDOW_MS } from './writer.ts';

export interface AdminOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly store: MetaStore;
  readonly views: StreamViews;
  readonly replicas: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface CheckedStreamConfig {
  readonly shardCount: number;
  readonly retentionHours: number;
  readonly retentionBytes: number | undefined;
  readonly dedupe: DedupeConfig | undefined;
  readonly tags: StreamTags | undefined;
  readonly mode: StreamMode;
}

const STREAM_NOT_FOUND_API = 10059;
const STREAM_NAME_IN_USE = 10058;

export class StreamAdmin {
  constructor(private readonly o: AdminOptions) {}

  private announce(name: string): void {
    this.o.nc.publish(this.o.names.changedSubject(name));
  }

  private shardConfig(meta: Pick<JsStreamMeta, 'name' | 'retentionHours' | 'retentionBytes'>, index: number) {
    return {
      name: this.o.names.shardStream(meta.name, index),
      subjects: [this.o.names.shardSubject(meta.name, index)],
      num_replicas: this.o.replicas,
      max_age: nanos(meta.retentionHours * 3_600_000),
      max_bytes: meta.retentionBytes ?? -1,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    };
  }

  private async createShardStream(meta: JsStreamMeta, index: number): Promise<void> {
    try {
      await this.o.jsm.streams.add(this.shardConfig(meta, index));
    } catch (err) {
      if (!isApiError(err, STREAM_NAME_IN_USE)) throw err;
    }
  }

  private async deleteShardStream(name: string, index: number): Promise<void> {
    try {
      await this.o.jsm.streams.delete(this.o.names.shardStream(name, index));
    } catch (err) {
      if (!isApiError(err, STREAM_NOT_FOUND_API)) throw err;
    }
  }

  /** Applies `change` to a stream's metadata with compare-and-set, reading again after a conflict. */
  private async change(name: string, change: (meta: JsStreamMeta) => Promise<JsStreamMeta | undefined> | JsStreamMeta | undefined): Promise<JsStreamMeta> {
    for (;;) {
      const { meta, revision } = await this.o.store.get(name);
      if (!meta) throw streamNotFound(name);
      const next = await change(meta);
      if (!next) return meta;
      if (await this.o.store.put(name, next, revision)) {
        this.announce(name);
        return next;
      }
    }
  }

  private async describeFresh(name: string): Promise<StreamDescription> {
    const s = await this.o.views.refresh(name);
    if (!s) throw streamNotFound(name);
    return describeState(s);
  }

  async create(name: string, c: CheckedStreamConfig): Promise<StreamDescription> {
    const { meta: existing, revision } = await this.o.store.get(name);
    if (existing) throw new TollstreamError('STREAM_EXISTS', `stream '${name}' already exists`, { context: { stream: name } });
    const meta: JsStreamMeta & { id: string } = {
      version: 1,
      id: nuid.next(),
      name,
      createdAt: this.o.now(),
      retentionHours: c.retentionHours,
      ...(c.retentionBytes !== undefined ? { retentionBytes: c.retentionBytes } : {}),
      ...(c.dedupe ? { dedupe: c.dedupe } : {}),
      ...(c.tags && Object.keys(c.tags).length > 0 ? { tags: c.tags } : {}),
      ...(c.mode === 'on-demand' ? { mode: c.mode } : {}),
      nextShardIndex: c.shardCount,
      shards: splitHashKeyRange(c.shardCount).map((hashKeyRange, index) => ({ shardId: formatShardId(index), index, hashKeyRange, parentShardIds: [] })),
    };
    // The metadata claims the name first: of two processes creating the same stream, one wins here and the
    // other touches nothing. Only then may JetStream streams of the name (leftovers of a deletion that did not
    // finish) be removed.
    if (!(await this.o.store.put(name, meta, revision))) throw new TollstreamError('STREAM_EXISTS', `stream '${name}' already exists`, { context: { stream: name } });
    await Promise.all(meta.shards.map((s) => this.deleteShardStream(name, s.index)));
    await Promise.all(meta.shards.map((s) => this.createShardStream(meta, s.index)));
    this.o.views.drop(name);
    this.announce(name);
    this.o.logger.info('stream created', { stream: name, shards: c.shardCount });
    return describeState(await this.o.views.get(name));
  }

  async remove(name: string): Promise<void> {
    for (;;) {
      const { meta, revision } = await this.o.store.get(name);
      if (!meta) throw streamNotFound(name);
      // The JetStream streams go before the metadata does: once the name is free, another process may create
      // the stream again, and its new JetStream streams must not be deleted by this late deletion.
      await Promise.all(meta.shards.map((s) => this.deleteShardStream(name, s.index)));
      if (!(await this.o.store.put(name, undefined, revision))) continue;
      this.o.views.drop(name);
      this.announce(name);
      this.o.logger.info('stream deleted', { stream: name });
      return;
    }
  }

  async list(): Promise<StreamSummary[]> {
    const metas = await this.o.store.list();
    return metas.map((m) => ({ name: m.name, status: isResharding(m) ? ('UPDATING' as const) : ('ACTIVE' as const), openShardCount: m.shards.filter(isOpenShard).length, createdAt: m.createdAt, mode: m.mode ?? 'provisioned' }));
  }

  /** The stream as the metadata has it now; a reshard whose process died is finished first. */
  async describe(name: string): Promise<StreamDescription> {
    const s = (await this.o.views.refresh(name)) ?? (await this.o.views.get(name));
    if (isResharding(s.meta)) {
      await this.finishClosing(name);
      return this.describeFresh(name);
    }
    return describeState(s);
  }

  async updateRetention(name: string, hours: number | undefined, bytes: { value: number | undefined } | undefined): Promise<StreamDescription> {
    await this.change(name, async (meta) => {
      const { retentionBytes: oldBytes, ...rest } = meta;
      const newBytes = bytes === undefined ? oldBytes : bytes.value;
      const next: JsStreamMeta = { ...rest, retentionHours: hours ?? meta.retentionHours, ...(newBytes !== undefined ? { retentionBytes: newBytes } : {}) };
      for (const shard of next.shards) {
        const config = this.shardConfig(next, shard.index);
        await this.o.jsm.streams.update(config.name, { max_age: config.max_age, max_bytes: config.max_bytes });
      }
      return next;
    });
    return this.describeFresh(name);
  }

  /**
   * A change of the stream's settings (tags, mode, consumers) that touches no JetStream stream: `change` maps the
   * current metadata to the new one, and runs again if another process changed it first (compare-and-set).
   */
  async updateSettings(name: string, change: (meta: JsStreamMeta) => JsStreamMeta): Promise<JsStreamMeta> {
    const next = await this.change(name, change);
    await this.o.views.refresh(name);
    return next;
  }

  /**
   * Applies the reshard `plan` makes from the shards as the metadata has them (again after a conflict): the
   * children's JetStream streams first, then the metadata naming them and marking the parents `closing`, then
   * the parents' end markers.
   */
  async reshard(name: string, plan: (shards: PlannedShard[]) => ReshardPlan | undefined): Promise<StreamDescription> {
    await this.finishClosing(name);
    let applied: ReshardPlan | undefined;
    await this.change(name, async (meta) => {
      const p = plan(meta.shards.map((m) => ({ shardId: m.shardId, hashKeyRange: m.hashKeyRange, open: isOpenShard(m) })));
      applied = p;
      if (!p) return undefined;
      const children: JsShardMeta[] = p.children.map((c, i) => ({
        shardId: formatShardId(meta.nextShardIndex + i),
        index: meta.nextShardIndex + i,
        hashKeyRange: c.hashKeyRange,
        parentShardIds: c.parentShardIds,
      }));
      await Promise.all(children.map((c) => this.createShardStream(meta, c.index)));
      return {
        ...meta,
        nextShardIndex: meta.nextShardIndex + children.length,
        shards: [...meta.shards.map((m) => (p.parents.includes(m.shardId) ? { ...m, closing: true as const } : m)), ...children],
      };
    });
    // Routing now goes to the children; the parents get their end markers.
    await this.finishClosing(name);
    if (applied) this.o.logger.info('stream resharded', { stream: name, closed: applied.parents, opened: applied.children.length });
    return this.describeFresh(name);
  }

  /** Writes the end marker of every closing shard and records where each ended. */
  private async finishClosing(name: string): Promise<void> {
    const { meta } = await this.o.store.get(name);
    if (!meta) throw streamNotFound(name);
    const closing = meta.shards.filter((m) => m.closing && m.endPosition === undefined);
    if (closing.length === 0) return;
    const ends = new Map<number, number>();
    await Promise.all(closing.map(async (shard) => ends.set(shard.index, await this.closeShard(meta, shard))));
    await this.change(name, (m) => ({
      ...m,
      shards: m.shards.map((s) =>
        ends.has(s.index) && s.endPosition === undefined
          ? { shardId: s.shardId, index: s.index, hashKeyRange: s.hashKeyRange, parentShardIds: s.parentShardIds, endPosition: ends.get(s.index)! }
          : s,
      ),
    }));
  }

  /**
   * Appends the end marker after the shard's last message, with the same expected-sequence check writers use,
   * so no record can be stored after it; returns the position of the last record (0 when none).
   */
  private async closeShard(meta: JsStreamMeta, shard: JsShardMeta): Promise<number> {
    const messages = this.o.views.messages(meta, shard);
    for (;;) {
      const { lastSeq } = await messages.state();
      const last = lastSeq > 0 ? await messages.next(lastSeq) : undefined;
      if (last?.kind === 'end') return last.endPosition;
      const end = last && last.message.seq === lastSeq ? positionOf(lastSeq, last.message.header.recordCount - 1) : lastSeq > 0 ? positionOf(lastSeq, 0) : 0;
      try {
        await this.o.js.publish(messages.loc.subject, new TextEncoder().encode(JSON.stringify({ endPosition: end })), {
          headers: endMarkerHeaders(end),
          expect: { lastSequence: lastSeq },
          timeout: this.o.timeoutMs,
        });
        this.o.nc.publish(this.o.names.wakeSubject(meta.name, shard.index), String(lastSeq + 1));
        return end;
      } catch (err) {
        if (!isApiError(err, WRONG_LAST_SEQUENCE)) throw err;
      }
    }
  }

  /** Notes each shard's stored bytes; returns the closed shards whose records all expired. */
  async expiredClosedShards(s: StreamState): Promise<number[]> {
    const emptied: number[] = [];
    for (const shard of s.meta.shards) {
      const messages = this.o.views.messages(s.meta, shard);
      const state = await messages.state().catch(() => undefined);
      if (!state) continue;
      const c = s.counters.get(shard.index);
      if (c) c.storedBytes = state.bytes;
      // A closed shard holds nothing but (perhaps) its end marker once its records expired.
      if (shard.endPosition !== undefined && (state.messages === 0 || (state.messages === 1 && (await messages.next(state.firstSeq))?.kind === 'end'))) {
        emptied.push(shard.index);
      }
    }
    return emptied;
  }

  /** Drops closed shards from the metadata and deletes their JetStream streams. */
  async dropShards(name: string, indexes: readonly number[]): Promise<void> {
    await this.change(name, (m) => ({ ...m, shards: m.shards.filter((x) => !indexes.includes(x.index)) }));
    for (const index of indexes) await this.deleteShardStream(name, index);
    await this.o.views.refresh(name);
    this.o.logger.info('dropped closed shards whose records all expired', { stream: name, shards: indexes.map(formatShardId) });
  }
}
