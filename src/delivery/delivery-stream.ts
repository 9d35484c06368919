/**
 * A delivery stream: follows every shard of a log stream (children after their parents), or only the shards
 * assigned to it (the shards whose lease its node holds, see docs/cluster.md), buffers records
 * until Firehose's size or interval hint is reached, converts them into rows and writes each batch with its
 * source positions in one destination transaction. It resumes from the positions the destination holds,
 * so each record lands exactly once however often delivery stops, crashes or restarts.
 */
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { ShardDescription, StartPosition, StoredRecord, StreamLog, Subscription } from '../log/types.ts';
import { shardBacklog } from '../log/index.ts';
import { backoffDelay, sleep, type BackoffOptions } from './backoff.ts';
import { failed, prepareRecords, toDestinationBatch, type BufferedRecord, type PreparedRecord } from './convert.ts';
import { RecordBuffer } from './record-buffer.ts';
import type { DeliveryDestination, DeliveryErrorType, DeliveryShardLag, DeliveryState, DeliveryStats, DestinationBatch, TransformFunction } from './types.ts';

export interface BufferingHints {
  /** Deliver once this many MiB are buffered: 1 to 128, as Firehose. @default 4 */
  readonly sizeMiB?: number;
  /**
   * Deliver once the oldest buffered record has waited this long, in seconds: 0 to 900 (fractions allowed).
   * Firehose's default is 300; here it is short so the warehouse stays within seconds of the log. @default 1
   */
  readonly intervalSeconds?: number;
}

export interface DeliveryStreamOptions {
  /** Names this delivery in logs and stats. */
  readonly name: string;
  readonly log: StreamLog;
  /** The source log stream. */
  readonly stream: string;
  readonly destination: DeliveryDestination;
  readonly buffering?: BufferingHints;
  readonly transform?: TransformFunction;
  /** Calls of a throwing (or timed out) transform before its batch counts as processing-failed. @default 3 */
  readonly transformAttempts?: number;
  /** One transform call may take this long, in ms, before it counts as failed. @default 60000 */
  readonly transformTimeoutMs?: number;
  /** Backoff between failed destination writes (retried until they succeed or delivery stops). */
  readonly retry?: BackoffOptions;
  /** Most records in one batch, whatever the size hint (bounds a batch's transaction and transform call). @default 50000 */
  readonly maxBatchRecords?: number;
  /** Records per read from a shard. @default 5000 */
  readonly readMaxRecords?: number;
  /**
   * `all`: follow every shard, children once their parents are read to the end. `assigned`: follow only the
   * shards given with `assignShard` until `releaseShard` (the shards whose lease this node holds), each from the
   * position the destination holds when it is assigned, a child once the destination holds its parents to their
   * end. @default 'all'
   */
  readonly shards?: 'all' | 'assigned';
  /** With `shards: 'assigned'`: how often a shard waiting for its parents to be delivered checks again, in ms. @default 1000 */
  readonly parentPollMs?: number;
  readonly logger?: Logger;
}

const MiB = 1024 * 1024;
const ERROR_TYPES: readonly DeliveryErrorType[] = ['processing-failed', 'format-conversion-failed', 'destination-failed'];

export class DeliveryStream {
  readonly name: string;
  private readonly log: StreamLog;
  private readonly stream: string;
  private readonly destination: DeliveryDestination;
  private readonly sizeBytes: number;
  private readonly intervalMs: number;
  private readonly maxBatchRecords: number;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private state: DeliveryState = 'created';
  private stopping = false;

  private readonly buffer = new RecordBuffer();
  private oldestInFlightArrival = Infinity;
  private wakeFlusher: (() => void) | undefined;
  private spaceWaiters: Array<() => void> = [];
  private flusher: Promise<void> | undefined;

  private startPositions: Record<string, string> = {};
  /** Per shard, the position the destination holds as far as this delivery knows (null: none), once known. */
  private readonly committed = new Map<string, string | null>();
  private readonly assigned = new Set<string>();
  /** Per shard, the reader that counts now: records of an earlier reader (before a release) are never written. */
  private readonly generations = new Map<string, number>();
  private readonly shardAborts = new Map<string, AbortController>();
  private readonly readers = new Map<string, Promise<void>>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly finishedShards = new Set<string>();
  private readonly lagByShard = new Map<string, number>();
  private launching: Promise<void> = Promise.resolve();

  private readonly counters = {
    recordsRead: 0,
    rowsDelivered: 0,
    bytesDelivered: 0,
    batchesDelivered: 0,
    recordsDropped: 0,
    destinationRetries: 0,
    lastBatchTime: null as number | null,
    lastBatchRows: 0,
    lastBatchDurationMs: 0,
    lastError: null as string | null,
    errors: { 'processing-failed': 0, 'format-conversion-failed': 0, 'destination-failed': 0 } as Record<DeliveryErrorType, number>,
  };

  constructor(private readonly options: DeliveryStreamOptions) {
    const sizeMiB = options.buffering?.sizeMiB ?? 4;
    const intervalSeconds = options.buffering?.intervalSeconds ?? 1;
    if (!(sizeMiB >= 1 && sizeMiB <= 128)) {
      throw new TollstreamError('INVALID_ARGUMENT', `buffering.sizeMiB must be from 1 to 128 (got ${sizeMiB})`, { context: { delivery: options.name } });
    }
    if (!(intervalSeconds >= 0 && intervalSeconds <= 900)) {
      throw new TollstreamError('INVALID_ARGUMENT', `buffering.intervalSeconds must be from 0 to 900 (got ${intervalSeconds})`, { context: { delivery: options.name } });
    }
    this.name = options.name;
    this.log = options.log;
    this.stream = options.stream;
    this.destination = options.destination;
    this.sizeBytes = sizeMiB * MiB;
    this.intervalMs = intervalSeconds * 1000;
    this.maxBatchRecords = options.maxBatchRecords ?? 50_000;
    if (!(Number.isInteger(this.maxBatchRecords) && this.maxBatchRecords >= 1)) {
      throw new TollstreamError('INVALID_ARGUMENT', `maxBatchRecords must be a positive integer (got ${this.maxBatchRecords})`, { context: { delivery: options.name } });
    }
    this.logger = (options.logger ?? silentLogger).child({ component: 'delivery', delivery: options.name, stream: options.stream });
  }

  /** Reads where the destination stopped and starts following every shard (with `shards: 'all'`). */
  async start(): Promise<void> {
    if (this.state !== 'created') throw new TollstreamError('INVALID_ARGUMENT', `delivery '${this.name}' was already started`);
    const assignedOnly = this.options.shards === 'assigned';
    this.startPositions = assignedOnly ? {} : await this.destination.positions(this.stream);
    this.state = 'running';
    this.flusher = this.runFlusher();
    if (!assignedOnly) await this.launchReadyShards();
    this.logger.info('delivery started', { destination: this.destination.description, shards: assignedOnly ? 'assigned' : 'all', resumedShards: Object.keys(this.startPositions).length });
  }

  /**
   * With `shards: 'assigned'`: starts following `shardId` from the position the destination holds now (once the
   * destination holds its parents to their end). Resolves once the position is read.
   */
  async assignShard(shardId: string): Promise<void> {
    if (this.options.shards !== 'assigned') throw new TollstreamError('INVALID_ARGUMENT', `delivery '${this.name}' follows every shard; only shards: 'assigned' takes assignments`);
    if (this.stopping || this.state === 'created' || this.assigned.has(shardId)) return;
    this.assigned.add(shardId);
    try {
      await this.followAssigned(shardId);
    } catch (err) {
      this.assigned.delete(shardId);
      throw err;
    }
    this.logger.info('following an assigned shard', { shardId, after: this.committed.get(shardId) ?? null });
  }

  /**
   * Stops following `shardId`: its reader ends and its buffered records are dropped (the log still holds them;
   * whoever follows the shard next starts from what the destination holds). A batch already being written may
   * still commit: the destination refuses it if another delivery wrote the shard meanwhile.
   */
  async releaseShard(shardId: string): Promise<void> {
    if (!this.assigned.delete(shardId)) return;
    await this.stopReader(shardId);
    this.committed.delete(shardId);
    this.finishedShards.delete(shardId);
    this.logger.info('stopped following a shard', { shardId });
  }

  /** The shards this delivery follows now, sorted. */
  followedShards(): string[] {
    return [...this.readers.keys()].sort();
  }

  /**
   * Stops reading, delivers what is buffered (one try if the destination is healthy; given up if it is
   * failing: the log still holds those records), and resolves when nothing is in flight.
   */
  async stop(): Promise<void> {
    if (this.state === 'created') {
      this.state = 'stopped';
      return;
    }
    this.stopping = true;
    this.abort.abort();
    for (const sub of this.subscriptions) sub.close();
    this.releaseSpaceWaiters();
    this.wakeFlusher?.();
    await Promise.allSettled([...this.readers.values()]);
    this.wakeFlusher?.();
    await this.flusher;
    if (this.state !== 'failed') this.state = 'stopped';
    this.logger.info('delivery stopped', { rowsDelivered: this.counters.rowsDelivered });
  }

  /**
   * How many records of each shard this delivery follows come after the position the destination holds for it
   * (all retained records of a shard with no position yet: delivery starts there at the oldest record). With
   * `shards: 'assigned'`, only the assigned shards whose position is known. Stopped or failed deliveries report
   * too: they fall further behind. Empty when the log cannot count records cheaply.
   */
  async lag(): Promise<DeliveryShardLag[]> {
    const log = this.log;
    if (!log.recordsAfter || this.state === 'created') return [];
    const counting = { read: log.read.bind(log), recordsAfter: log.recordsAfter.bind(log) };
    let shards: readonly ShardDescription[];
    try {
      shards = (await log.describeStream(this.stream)).shards;
    } catch (err) {
      if (isTollstreamError(err, 'STREAM_NOT_FOUND')) return [];
      throw err;
    }
    const out: DeliveryShardLag[] = [];
    for (const shard of shards) {
      const shardId = shard.shardId;
      if (this.options.shards === 'assigned' && !(this.assigned.has(shardId) && this.committed.has(shardId))) continue;
      const position = this.previousPosition(shardId);
      out.push({ stream: this.stream, shardId, ...(await shardBacklog(counting, this.stream, shardId, position ?? undefined)) });
    }
    return out;
  }

  stats(): DeliveryStats {
    const oldest = Math.min(this.buffer.oldestArrival, this.oldestInFlightArrival);
    return {
      name: this.name,
      stream: this.stream,
      destination: this.destination.description,
      state: this.state,
      recordsRead: this.counters.recordsRead,
      rowsDelivered: this.counters.rowsDelivered,
      bytesDelivered: this.counters.bytesDelivered,
      batchesDelivered: this.counters.batchesDelivered,
      recordsDropped: this.counters.recordsDropped,
      errors: { ...this.counters.errors },
      destinationRetries: this.counters.destinationRetries,
      bufferedRecords: this.buffer.length,
      bufferedBytes: this.buffer.bytes,
      dataFreshnessSeconds: Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0,
      millisBehindLatest: Math.max(0, ...this.lagByShard.values()),
      lastBatchTime: this.counters.lastBatchTime,
      lastBatchRows: this.counters.lastBatchRows,
      lastBatchDurationMs: this.counters.lastBatchDurationMs,
      lastError: this.counters.lastError,
    };
  }

  // ---- reading ----

  private async followAssigned(shardId: string): Promise<void> {
    const positions = await this.destination.positions(this.stream);
    if (!this.assigned.has(shardId) || this.stopping) return;
    this.committed.set(shardId, positions[shardId] ?? null);
    const control = new AbortController();
    this.shardAborts.set(shardId, control);
    this.readers.set(shardId, this.runAssigned(shardId, control.signal));
  }

  /** Follows an assigned shard once the destination holds each of its parents to the end. */
  private async runAssigned(shardId: string, signal: AbortSignal): Promise<void> {
    const signals = AbortSignal.any([this.abort.signal, signal]);
    while (!signals.aborted) {
      try {
        const description = await this.log.describeStream(this.stream);
        const shard = description.shards.find((s) => s.shardId === shardId);
        if (!shard) {
          this.logger.warn('an assigned shard is not in the stream (any more); nothing to follow', { shardId });
          return;
        }
        const known = new Set(description.shards.map((s) => s.shardId));
        const positions = shard.parentShardIds.some((p) => known.has(p)) ? await this.destination.positions(this.stream) : {};
        let parentsDone = true;
        for (const parent of shard.parentShardIds) {
          if (!known.has(parent)) continue;
          const held = positions[parent];
          const rest = await this.log.read(this.stream, parent, held ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: held } : { type: 'TRIM_HORIZON' }, { maxRecords: 1 });
          if (rest.records.length > 0 || rest.next !== null) parentsDone = false;
        }
        if (parentsDone) return await this.runReader(shard, signal);
      } catch (err) {
        if (signals.aborted) return;
        this.counters.lastError = describeError(err);
        this.logger.warn('checking the parents of an assigned shard failed; retrying', { shardId, err });
      }
      await sleep(this.options.parentPollMs ?? 1000, signals);
    }
  }

  /** Ends the reader of `shardId` and drops its buffered records; records of it in a batch being written are dropped at the next attempt. */
  private async stopReader(shardId: string): Promise<void> {
    this.generations.set(shardId, this.generation(shardId) + 1);
    this.shardAborts.get(shardId)?.abort();
    this.shardAborts.delete(shardId);
    this.releaseSpaceWaiters();
    await this.readers.get(shardId);
    this.readers.delete(shardId);
    this.lagByShard.delete(shardId);
    this.buffer.drop(shardId);
  }

  /** Starts a reader for every shard whose parents are all read to their end (or gone by retention). */
  private launchReadyShards(): Promise<void> {
    // A failed launch must not block later ones: chain on the settled promise.
    this.launching = this.launching.catch(() => undefined).then(async () => {
      if (this.stopping) return;
      const description = await this.log.describeStream(this.stream);
      const known = new Set(description.shards.map((s) => s.shardId));
      for (const shard of description.shards) {
        if (this.readers.has(shard.shardId) || this.finishedShards.has(shard.shardId)) continue;
        if (!shard.parentShardIds.every((p) => !known.has(p) || this.finishedShards.has(p))) continue;
        this.readers.set(shard.shardId, this.runReader(shard));
      }
    });
    return this.launching;
  }

  private async runReader(shard: ShardDescription, shardSignal?: AbortSignal): Promise<void> {
    const shardId = shard.shardId;
    const stored = this.previousPosition(shardId);
    const generation = this.generation(shardId);
    const signal = shardSignal ? AbortSignal.any([this.abort.signal, shardSignal]) : this.abort.signal;
    let position: StartPosition = stored ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: stored } : { type: 'TRIM_HORIZON' };
    let attempt = 0;
    while (!this.stopping && !signal.aborted) {
      const sub = this.log.subscribe(this.stream, shardId, position, { maxRecords: this.options.readMaxRecords ?? 5000, signal });
      this.subscriptions.add(sub);
      try {
        for await (const result of sub) {
          attempt = 0;
          this.lagByShard.set(shardId, result.millisBehindLatest);
          const last = result.records[result.records.length - 1];
          if (last) {
            if (!(await this.accept(shardId, result.records, signal, generation))) return;
            position = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last.sequenceNumber };
          }
          if (result.next === null) {
            this.finishedShards.add(shardId);
            this.lagByShard.delete(shardId);
            if (!shardSignal) this.readers.delete(shardId);
            this.logger.info('shard read to its end; following its children', { shardId, children: result.childShardIds ?? [] });
            if (!shardSignal) await this.launchReadyShards();
            return;
          }
        }
        return; // the subscription ended because delivery stops
      } catch (err) {
        if (this.stopping || signal.aborted) return;
        attempt++;
        this.counters.lastError = describeError(err);
        this.logger.warn('reading a shard failed; retrying', { shardId, attempt, err });
        await sleep(backoffDelay(attempt, this.options.retry), signal);
      } finally {
        this.subscriptions.delete(sub);
        sub.close();
      }
    }
  }

  /** Adds records to the buffer, waiting while it is full. False when delivery (or this shard's reader) stops meanwhile. */
  private async accept(shardId: string, records: readonly StoredRecord[], signal: AbortSignal, generation: number): Promise<boolean> {
    while (this.buffer.bytes >= 2 * this.sizeBytes && !this.stopping && !signal.aborted) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.stopping || signal.aborted) return false;
    this.buffer.add(shardId, records, generation, Date.now());
    this.counters.recordsRead += records.length;
    this.wakeFlusher?.();
    return true;
  }

  private releaseSpaceWaiters(): void {
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
  }

  // ---- delivering ----

  private async runFlusher(): Promise<void> {
    for (;;) {
      if (this.buffer.length === 0) {
        if (this.stopping) return;
        await this.waitForWork();
        continue;
      }
      const waited = Date.now() - (this.buffer.since ?? Date.now());
      const full = this.buffer.bytes >= this.sizeBytes || this.buffer.length >= this.maxBatchRecords;
      if (!this.stopping && !full && waited < this.intervalMs) {
        await this.waitForWork(this.intervalMs - waited);
        continue;
      }
      this.oldestInFlightArrival = this.buffer.oldestArrival;
      const records = this.buffer.take(this.maxBatchRecords);
      this.releaseSpaceWaiters();
      const delivered = await this.deliver(records);
      this.oldestInFlightArrival = Infinity;
      if (!delivered) return;
    }
  }

  private waitForWork(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const self = this;
      function done() {
        if (timer) clearTimeout(timer);
        if (self.wakeFlusher === done) self.wakeFlusher = undefined;
        resolve();
      }
      this.wakeFlusher = done;
    });
  }

  private async deliver(records: readonly BufferedRecord[]): Promise<boolean> {
    const started = Date.now();
    const prepared = await prepareRecords(records, this.destination.schema, this.options.transform, {
      attempts: this.options.transformAttempts ?? 3,
      timeoutMs: this.options.transformTimeoutMs ?? 60_000,
    });
    const ok = await this.write(prepared);
    if (ok) {
      this.counters.lastBatchTime = Date.now();
      this.counters.lastBatchDurationMs = this.counters.lastBatchTime - started;
    }
    return ok;
  }

  /** Writes `prepared`, retrying while the destination is unavailable. False when delivery stops or fails. */
  private async write(prepared: readonly PreparedRecord[]): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      // Records of a shard released (or followed again) since they were read are not this delivery's to write.
      if (prepared.some((p) => !this.current(p.source))) prepared = prepared.filter((p) => this.current(p.source));
      if (prepared.length === 0) return true;
      const batch = this.withPrevious(toDestinationBatch(this.stream, prepared));
      try {
        await this.destination.write(batch);
        for (const [shardId, sequenceNumber] of Object.entries(batch.positions)) {
          // A write that began before its shard was followed again must not move the new reader's position.
          if (prepared.some((p) => p.source.shardId === shardId && this.current(p.source))) this.committed.set(shardId, sequenceNumber);
        }
        this.counted(batch, prepared);
        if (this.state === 'retrying') this.logger.info('destination recovered', { attempts: attempt });
        this.state = 'running';
        return true;
      } catch (err) {
        this.counters.lastError = describeError(err);
        if (isTollstreamError(err, 'WAREHOUSE_REJECTED')) return this.isolateRejected(prepared, err);
        const moved = this.options.shards === 'assigned' && isTollstreamError(err, 'DELIVERY_POSITION_CONFLICT') ? err.context.shardId : undefined;
        if (typeof moved === 'string' && prepared.some((p) => p.source.shardId === moved)) {
          // Another node delivered this shard meanwhile (its lease moved): this batch's records of it are not
          // ours to load. Drop them, follow the shard again from the destination if it is still ours, write the rest.
          this.logger.warn('another delivery wrote a shard meanwhile; dropping this batch\'s records of it', { shardId: moved });
          prepared = prepared.filter((p) => p.source.shardId !== moved);
          await this.refollow(moved);
          if (prepared.length === 0) return true;
          continue;
        }
        if (isTollstreamError(err) && !err.retriable) {
          this.state = 'failed';
          this.logger.error('delivery failed and stopped; fix the cause and restart it', { err });
          this.stopping = true;
          this.abort.abort();
          this.releaseSpaceWaiters();
          return false;
        }
        if (this.stopping) return false;
        this.state = 'retrying';
        this.counters.destinationRetries++;
        const delay = backoffDelay(attempt, this.options.retry);
        this.logger.warn('writing a batch failed; retrying', { attempt, delayMs: delay, err });
        await sleep(delay, this.abort.signal);
        if (this.stopping) return false;
      }
    }
  }

  /** Each shard of the batch with the position this delivery believes the destination holds for it. */
  private withPrevious(batch: DestinationBatch): DestinationBatch {
    const previous: Record<string, string | null> = {};
    for (const shardId of Object.keys(batch.positions)) previous[shardId] = this.previousPosition(shardId);
    return { ...batch, previous };
  }

  private generation(shardId: string): number {
    return this.generations.get(shardId) ?? 0;
  }

  /** Whether a buffered record still belongs to the shard's current reader (and, with assignments, to an assigned shard). */
  private current(source: BufferedRecord): boolean {
    return (source.generation ?? 0) === this.generation(source.shardId) && (this.options.shards !== 'assigned' || this.assigned.has(source.shardId));
  }

  private previousPosition(shardId: string): string | null {
    return this.committed.has(shardId) ? this.committed.get(shardId)! : (this.startPositions[shardId] ?? null);
  }

  /** After another delivery wrote `shardId`: drop what is buffered of it and, if it is still assigned, follow it again. */
  private async refollow(shardId: string): Promise<void> {
    await this.stopReader(shardId);
    this.committed.delete(shardId);
    if (this.assigned.has(shardId) && !this.stopping) await this.followAssigned(shardId).catch((err: unknown) => this.logger.warn('following a shard again failed', { shardId, err }));
  }

  /**
   * The destination refused some row of the batch. Halves narrow it down to the rows it refuses, which go to
   * the error output as destination-failed; the other rows are delivered.
   */
  private async isolateRejected(prepared: readonly PreparedRecord[], err: TollstreamError): Promise<boolean> {
    const rowCount = prepared.filter((p) => p.outcome.kind === 'row').length;
    if (rowCount === 0) {
      this.state = 'failed';
      this.logger.error('the destination refuses even the error records; delivery stopped', { err });
      this.stopping = true;
      this.abort.abort();
      return false;
    }
    if (rowCount === 1) {
      const rejected = prepared.map((p) => (p.outcome.kind === 'row' ? { source: p.source, outcome: failed(p.source, 'destination-failed', err.code, err.message) } : p));
      return this.write(rejected);
    }
    let rowsSeen = 0;
    const mid = prepared.findIndex((p) => p.outcome.kind === 'row' && ++rowsSeen > rowCount / 2);
    return (await this.write(prepared.slice(0, mid))) && this.write(prepared.slice(mid));
  }

  private counted(batch: DestinationBatch, prepared: readonly PreparedRecord[]): void {
    const c = this.counters;
    c.batchesDelivered++;
    c.rowsDelivered += batch.rows.length;
    c.lastBatchRows = batch.rows.length;
    for (const p of prepared) {
      if (p.outcome.kind === 'row') c.bytesDelivered += p.source.record.data.length;
      else if (p.outcome.kind === 'dropped') c.recordsDropped++;
    }
    for (const e of batch.errors) c.errors[e.errorType]++;
    for (const type of ERROR_TYPES) if (batch.errors.some((e) => e.errorType === type)) this.logger.warn('records sent to the error output', { errorType: type, count: batch.errors.filter((e) => e.errorType === type).length });
  }
}

function describeError(err: unknown): string {
  if (isTollstreamError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
