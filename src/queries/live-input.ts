/**
 * One input log stream as the engine's live input: a subscription per shard (a reshard child only once all
 * its parents are read to their end), records passed on as bytes (the query's source decodes only the fields
 * it needs), merged into one ordered sequence with the checkpoint barriers, idle ticks and the final cancel
 * that the query puts in. The position of every shard is tracked as items enter the sequence, so the
 * positions returned with a barrier cover exactly the records before it.
 */
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { LiveItem } from '../sql/index.ts';
import { deaggregate, isKplAggregate, type ShardDescription, type StartPosition, type StoredRecord, type StreamLog } from '../log/index.ts';
import type { ShardPositions } from './types.ts';

export interface LiveInputOptions {
  /** Records queued ahead of the engine before shard readers wait. @default 20000 */
  readonly maxQueuedRecords?: number;
  /** A tick is yielded after this long without items, ms. @default 200 */
  readonly tickMs?: number;
  /**
   * A shard without a position yet (none checkpointed) is read from this arrival time (ms) on rather than from
   * its beginning: the query's start position (start-position.ts). @default the beginning
   */
  readonly startAt?: number;
  /** Awaited before each batch of records is handed to the engine (output backpressure). */
  readonly waitForRoom?: () => Promise<void>;
  readonly logger: Logger;
  /**
   * A KPL aggregate of shard `shardId` that cannot be read (`reason`): the query's error stream gets it. Its
   * user records are not passed on; the shard's position still moves past it.
   */
  readonly onMalformedAggregate?: (shardId: string, record: StoredRecord, reason: string) => void;
}

export class LiveInput implements AsyncIterable<LiveItem> {
  private readonly items: LiveItem[] = [];
  private head = 0;
  private queuedRecords = 0;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducers: (() => void)[] = [];
  private readonly positions = new Map<string, string>();
  private readonly reading = new Set<string>();
  private readonly abort = new AbortController();
  private readonly lagByShard = new Map<string, number>();
  private readonly maxQueued: number;
  private readonly tickMs: number;
  /** Set when reading failed (stream deleted, log closed): the query fails with it. */
  failure: TollstreamError | null = null;
  private cancelled = false;

  constructor(
    private readonly log: StreamLog,
    readonly stream: string,
    start: ShardPositions | null,
    private readonly options: LiveInputOptions,
  ) {
    for (const [shard, pos] of Object.entries(start ?? {})) this.positions.set(shard, pos);
    this.maxQueued = options.maxQueuedRecords ?? 20_000;
    this.tickMs = options.tickMs ?? 200;
  }

  /** Highest `millisBehindLatest` of the shards being read, ms. */
  get lagMs(): number {
    let max = 0;
    for (const v of this.lagByShard.values()) if (v > max) max = v;
    return max;
  }

  /** Starts the shard readers. */
  async open(): Promise<void> {
    await this.scan();
  }

  /** Puts barrier `id` after everything queued so far and returns the shard positions it covers. */
  injectBarrier(id: number): ShardPositions {
    this.push({ kind: 'barrier', id });
    return Object.fromEntries(this.positions);
  }

  /** Ends the sequence at once (what is queued is dropped: the last checkpoint's positions cover it) and stops the readers. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.items.splice(0, this.items.length, { kind: 'cancel' });
    this.head = 0;
    this.queuedRecords = 0;
    this.abort.abort();
    this.wakeAll();
  }

  /** Subscribes to every shard that is open for reading: not done, not read yet, parents done. */
  private async scan(): Promise<void> {
    if (this.cancelled) return;
    const desc = await this.log.describeStream(this.stream);
    const present = new Set(desc.shards.map((s) => s.shardId));
    for (const shard of desc.shards) {
      if (this.reading.has(shard.shardId) || this.positions.get(shard.shardId) === 'done') continue;
      const parentsDone = shard.parentShardIds.every((p) => !present.has(p) || this.positions.get(p) === 'done');
      if (!parentsDone) continue;
      this.reading.add(shard.shardId);
      void this.readShard(shard);
    }
  }

  private async readShard(shard: ShardDescription): Promise<void> {
    const id = shard.shardId;
    const last = this.positions.get(id);
    const startAt = this.options.startAt;
    const from: StartPosition = last
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: last }
      : startAt === undefined
        ? { type: 'TRIM_HORIZON' }
        : { type: 'AT_TIMESTAMP', timestamp: startAt };
    this.push({ kind: 'partition', partition: id, state: 'open' });
    try {
      const sub = this.log.subscribe(this.stream, id, from, { maxRecords: 2000, signal: this.abort.signal });
      let closed = false;
      for await (const batch of sub) {
        if (this.cancelled) break;
        this.lagByShard.set(id, batch.millisBehindLatest);
        if (batch.records.length > 0) {
          while (!this.cancelled && this.queuedRecords >= this.maxQueued) await new Promise<void>((r) => this.wakeProducers.push(r));
          if (this.cancelled) break;
          const n = batch.records.length;
          const data = new Array<Uint8Array>(n);
          const arrivalTimes = new Array<number>(n);
          let j = 0;
          for (let i = 0; i < n; i++) {
            const r = batch.records[i]!;
            if (isKplAggregate(r.data)) {
              j = this.expandAggregate(id, r, data, arrivalTimes, j);
              continue;
            }
            data[j] = r.data;
            arrivalTimes[j++] = r.arrivalTime;
          }
          // A batch ends on a whole Kinesis record, so the shard's position never falls inside an aggregate.
          data.length = j;
          arrivalTimes.length = j;
          this.queuedRecords += j;
          this.push({ kind: 'records', partition: id, data, arrivalTimes });
          this.positions.set(id, batch.records[batch.records.length - 1]!.sequenceNumber);
        }
        if (batch.next === null) closed = true;
      }
      if (this.cancelled) return;
      if (!closed) {
        // The subscription ended without the shard closing: the stream was deleted or the log closed.
        throw new TollstreamError('STREAM_NOT_FOUND', `reading shard ${id} of stream "${this.stream}" stopped: the stream was deleted or the log closed`, { context: { stream: this.stream, shardId: id } });
      }
      this.push({ kind: 'partition', partition: id, state: 'closed' });
      this.positions.set(id, 'done');
      this.lagByShard.delete(id);
      this.reading.delete(id);
      await this.scan();
    } catch (err) {
      if (this.cancelled) return;
      this.failure = isTollstreamError(err) ? err : new TollstreamError('INTERNAL', `reading stream "${this.stream}" failed: ${String(err)}`, { cause: err });
      this.options.logger.error('query input failed', { stream: this.stream, shardId: id, err });
      this.cancel();
    }
  }

  /** Puts the user records of aggregate `r` at `data[at]` on; returns the index after them. */
  private expandAggregate(shardId: string, r: StoredRecord, data: Uint8Array[], arrivalTimes: number[], at: number): number {
    const result = deaggregate(r);
    if (!result.ok) {
      this.options.onMalformedAggregate?.(shardId, r, result.reason);
      return at;
    }
    let j = at;
    for (const user of result.records) {
      data[j] = user.data;
      arrivalTimes[j++] = user.arrivalTime;
    }
    return j;
  }

  private push(item: LiveItem): void {
    if (this.cancelled && item.kind !== 'cancel') return;
    this.items.push(item);
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }

  private wakeAll(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
    for (const w of this.wakeProducers.splice(0)) w();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<LiveItem> {
    for (;;) {
      if (this.head < this.items.length) {
        const item = this.items[this.head++]!;
        if (this.head > 256 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        if (item.kind === 'records') {
          this.queuedRecords -= item.data.length;
          for (const w of this.wakeProducers.splice(0)) w();
          if (this.options.waitForRoom) await this.options.waitForRoom();
        }
        yield item;
        if (item.kind === 'cancel') return;
        continue;
      }
      const ticked = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.wakeConsumer = null;
          resolve(true);
        }, this.tickMs);
        this.wakeConsumer = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      if (ticked) yield { kind: 'tick' };
    }
  }
}
