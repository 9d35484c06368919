/**
 * Keeps a stream-backed reference table ('kind' = 'table') of a live query up to date: `load()` reads the
 * whole changelog stream from TRIM_HORIZON to its current end (so the query starts with the complete table),
 * then every shard is followed with `subscribe` and each arriving record is applied as it comes. Nothing of
 * it is checkpointed: a restart reads the stream from TRIM_HORIZON again before any fact row is processed.
 * Records with the same key must share a partition key (one shard) for "later replaces earlier" to hold.
 */
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { deaggregate, isKplAggregate, type ShardDescription, type StartPosition, type StoredRecord, type StreamLog } from '../log/index.ts';
import type { LiveReferenceStream } from '../sql/index.ts';

const READ_BATCH = 1000;

function decode(data: Uint8Array): unknown {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class ReferenceFeed {
  private readonly abort = new AbortController();
  /** Shards being read or read to their end. */
  private readonly known = new Set<string>();
  private readonly finished = new Set<string>();
  private following: Promise<void>[] = [];
  /** Records that could not be applied (not JSON objects, bad values, null keys). */
  rejected = 0;
  /** Records applied here, or sent to the query's thread when it holds the table. */
  applied = 0;
  /** Set when following failed (stream deleted, log closed). */
  failure: TollstreamError | null = null;

  constructor(
    private readonly log: StreamLog,
    readonly ref: LiveReferenceStream,
    private readonly logger: Logger,
    private readonly query: string,
    /**
     * The query's thread holds the table: every record goes there in order, and is not applied here (the thread
     * reports the ones it could not apply through `rejectedOnThread`).
     */
    private readonly toThread?: (record: unknown, sequenceNumber: string) => void,
  ) {}

  /** The query's thread could not apply the record at `sequenceNumber`. */
  rejectedOnThread(sequenceNumber: string, problem: string): void {
    this.rejected++;
    this.logger.warn('reference record ignored', { query: this.query, table: this.ref.name, stream: this.ref.stream, sequenceNumber, problem });
  }

  /** Reads the stream to its current end into the table (parents before children), then follows it live. */
  async load(): Promise<void> {
    const tails = new Map<string, StartPosition>();
    for (;;) {
      const ready = await this.readyShards();
      if (ready.length === 0) break;
      for (const shard of ready) {
        this.known.add(shard.shardId);
        const next = await this.readToEnd(shard.shardId);
        if (next === null) this.finished.add(shard.shardId);
        else tails.set(shard.shardId, next);
      }
    }
    // Held on the query's thread, the table's rows are not counted here; the records sent there are.
    this.logger.info('reference table loaded', { query: this.query, table: this.ref.name, stream: this.ref.stream, ...(this.toThread ? { records: this.applied } : { rows: this.ref.table.size }) });
    for (const [shardId, from] of tails) this.follow(shardId, from);
  }

  close(): void {
    this.abort.abort();
  }

  /** Shards not read yet whose parents are all read to their end. */
  private async readyShards(): Promise<ShardDescription[]> {
    const desc = await this.log.describeStream(this.ref.stream);
    return desc.shards.filter((s) => !this.known.has(s.shardId) && s.parentShardIds.every((p) => this.finished.has(p) || !desc.shards.some((d) => d.shardId === p)));
  }

  private async readToEnd(shardId: string): Promise<StartPosition | null> {
    let from: StartPosition = { type: 'TRIM_HORIZON' };
    for (;;) {
      const r = await this.log.read(this.ref.stream, shardId, from, { maxRecords: READ_BATCH });
      this.applyAll(r.records);
      if (r.next === null) return null;
      from = r.next;
      if (r.records.length === 0 && r.millisBehindLatest === 0) return from;
    }
  }

  private follow(shardId: string, from: StartPosition): void {
    const run = async (): Promise<void> => {
      const sub = this.log.subscribe(this.ref.stream, shardId, from, { signal: this.abort.signal, maxRecords: READ_BATCH });
      try {
        for await (const r of sub) {
          this.applyAll(r.records);
          if (r.next === null) break;
        }
      } finally {
        sub.close();
      }
      if (this.abort.signal.aborted) return;
      // A closed shard (reshard parent): go on with its children once all their parents are read.
      this.finished.add(shardId);
      for (const child of await this.readyShards()) {
        this.known.add(child.shardId);
        this.follow(child.shardId, { type: 'TRIM_HORIZON' });
      }
    };
    this.following.push(
      run().catch((err: unknown) => {
        if (this.abort.signal.aborted) return;
        this.failure = new TollstreamError('INTERNAL', `reference table ${this.ref.name} stopped following stream "${this.ref.stream}": ${(err as Error).message}`, {
          context: { query: this.query, table: this.ref.name, stream: this.ref.stream },
          cause: err,
        });
        this.logger.error('reference table stopped following its stream', { query: this.query, table: this.ref.name, err: this.failure });
      }),
    );
  }

  private applyAll(records: readonly StoredRecord[]): void {
    for (const rec of records) {
      if (isKplAggregate(rec.data)) {
        this.applyAggregate(rec);
        continue;
      }
      this.applyOne(rec);
    }
  }

  /** A KPL aggregated record: its user records in order, or one rejection naming it malformed. */
  private applyAggregate(rec: StoredRecord): void {
    const expanded = deaggregate(rec);
    if (expanded.ok) {
      for (const user of expanded.records) this.applyOne(user);
      return;
    }
    this.rejected++;
    this.logger.warn('reference record ignored', { query: this.query, table: this.ref.name, stream: this.ref.stream, sequenceNumber: rec.sequenceNumber, problem: `malformed KPL aggregated record: ${expanded.reason}` });
  }

  private applyOne(rec: StoredRecord): void {
    const record = decode(rec.data);
    if (this.toThread) {
      this.applied++;
      this.toThread(record, rec.sequenceNumber);
      return;
    }
    const problem = this.ref.table.apply(record);
    if (problem === null) {
      this.applied++;
      return;
    }
    this.rejected++;
    this.logger.warn('reference record ignored', { query: this.query, table: this.ref.name, stream: this.ref.stream, sequenceNumber: rec.sequenceNumber, problem });
  }
}
