/**
 * The main thread's side of the query threads (query-thread.ts): a small pool of worker threads, each
 * running the operators of whole queries. A query goes to the thread with the fewest queries and stays
 * there until it stops: a query is the unit of work here as it is between a cluster's nodes (one query
 * under one lease), so a node's threads and a cluster's nodes split work the same way.
 *
 * For a query on a thread, the main thread reads its inputs (LiveInput) and sends their items across in
 * order, bounded by how many records the thread has not taken yet; it appends the encoded rows that come
 * back and stores the checkpoints. The threads never keep the process alive by themselves.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { AppendRecord } from '../log/index.ts';
import type { ErrorRow, LiveItem } from '../sql/index.ts';
import { packBytes, transferList, unpackBytes, type FromThread, type ThreadQuerySpec, type ToThread } from './thread-batches.ts';
import { fromWireError, threadBoot } from './thread-support.ts';

const BOOT = threadBoot('query-thread');

/** Input records sent to a query's thread and not yet taken by its operators, before the readers wait. */
const MAX_IN_FLIGHT = 20_000;

/** One query thread per core the main thread leaves free (none on a one-core machine). */
export function defaultQueryThreads(): number {
  return Math.max(0, availableParallelism() - 1);
}

/** What the thread reports of one query, on the main thread. */
export interface ThreadQueryEvents {
  /** Encoded rows of output `output`, in the order the operators delivered them. */
  rows(output: string, records: AppendRecord[]): void;
  error(row: ErrorRow): void;
  /** Output `output` is complete before `time` (ms) once the rows sent before this are appended. */
  emittedUpTo(output: string, time: number): void;
  /** Task `taskId` passed barrier `id`: its state, and the key counters of its output (sink tasks), sealed (sealed-state.ts). */
  snapshot(taskId: string, id: number, state: Uint8Array, sink: Uint8Array | undefined): void;
  records(count: number): void;
  reload(event: { table: string; rows?: number; path?: string; error?: string }): void;
  /** A record of stream-backed reference table `table` could not be applied on the thread. */
  referenceRejected(table: string, sequenceNumber: string, problem: string): void;
}

/** How the pool's threads are started. */
export interface QueryThreadOptions {
  /** Most heap a thread's operators may use, MiB (the worker's old generation); past it the thread dies. @default Node's */
  readonly memoryMiB?: number;
  /** Called with each thread as it starts (diagnostics; the fault tests end threads through it). */
  readonly onThread?: (worker: Worker) => void;
}

class QueryThread {
  readonly worker: Worker;
  readonly queries = new Map<number, ThreadQuery>();
  private nextQid = 0;

  constructor(
    private readonly gone: (t: QueryThread) => void,
    options: QueryThreadOptions,
  ) {
    this.worker = new Worker(BOOT, { eval: true, ...(options.memoryMiB === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.memoryMiB } }) });
    this.worker.unref();
    this.worker.on('message', (m: FromThread) => this.queries.get(m.qid)?.receive(m));
    const thread = this.worker.threadId;
    const die = (why: string, cause?: unknown) => {
      this.gone(this);
      for (const q of [...this.queries.values()]) {
        q.threadDied(new TollstreamError('QUERY_THREAD_CRASHED', `the thread running the query's operators died: ${why}`, { context: { query: q.query, thread }, ...(cause === undefined ? {} : { cause }) }));
      }
    };
    this.worker.on('error', (err: Error & { code?: string }) =>
      die(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `it ran out of memory (queries.threadMemoryMiB ${options.memoryMiB ?? 'not set'})` : err.message, err),
    );
    this.worker.on('exit', (code) => die(`it exited with code ${code}`));
    options.onThread?.(this.worker);
  }

  open(spec: ThreadQuerySpec, events: ThreadQueryEvents): ThreadQuery {
    const qid = ++this.nextQid;
    const q = new ThreadQuery(this, qid, spec.query, events);
    this.queries.set(qid, q);
    this.post({ qid, op: 'open', spec });
    return q;
  }

  post(message: ToThread, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }
}

/** One query whose operators run on a query thread. */
export class ThreadQuery {
  /** The sources' watermarks as the thread last reported them (ms). */
  readonly sources: { watermark: number }[] = [];
  private inFlight = 0;
  private creditWaiters: (() => void)[] = [];
  private over = false;
  private resolveEnded!: () => void;
  private rejectEnded!: (err: TollstreamError) => void;
  private readonly ended = new Promise<void>((resolve, reject) => {
    this.resolveEnded = resolve;
    this.rejectEnded = reject;
  });
  private resolvePlanned!: () => void;
  /** Resolves once the thread planned the query; rejects as the run does if it could not. */
  readonly planned: Promise<void>;

  constructor(
    private readonly thread: QueryThread,
    private readonly qid: number,
    readonly query: string,
    private readonly events: ThreadQueryEvents,
  ) {
    // Whoever does not call run() still learns of the end through the events; this keeps it from being unhandled.
    this.ended.catch(() => {});
    this.planned = Promise.race([new Promise<void>((resolve) => (this.resolvePlanned = resolve)), this.ended.then(() => {
      throw new TollstreamError('INTERNAL', 'the query ended on its thread before it was planned', { context: {} });
    })]);
    this.planned.catch(() => {});
  }

  /** One record of stream-backed reference table `table` (decoded), in stream order. */
  reference(table: string, record: unknown, sequenceNumber: string): void {
    if (!this.over) this.thread.post({ qid: this.qid, op: 'reference', table, record, sequenceNumber });
  }

  /** Starts the operators and sends them the inputs' items; settles when the thread's run is over. */
  run(inputs: ReadonlyMap<string, AsyncIterable<LiveItem>>): Promise<void> {
    if (!this.over) {
      this.thread.post({ qid: this.qid, op: 'run' });
      for (const [input, items] of inputs) void this.pump(input, items);
    }
    return this.ended;
  }

  /** Ends the run at once (what the thread has queued is dropped) or, before run(), releases the query. */
  cancel(): void {
    if (!this.over) this.thread.post({ qid: this.qid, op: 'cancel' });
  }

  private async pump(input: string, items: AsyncIterable<LiveItem>): Promise<void> {
    for await (const item of items) {
      if (this.over) break;
      if (item.kind === 'records') {
        while (this.inFlight >= MAX_IN_FLIGHT && !this.over) await new Promise<void>((r) => this.creditWaiters.push(r));
        if (this.over) break;
        this.inFlight += item.data.length;
        const packed = packBytes(item.data);
        const arrivalTimes = Float64Array.from(item.arrivalTimes);
        this.thread.post({ qid: this.qid, op: 'item', input, item: { kind: 'records', partition: item.partition, packed, arrivalTimes } }, transferList(packed, arrivalTimes));
      } else this.thread.post({ qid: this.qid, op: 'item', input, item });
      if (item.kind === 'cancel') break;
    }
  }

  receive(m: FromThread): void {
    switch (m.op) {
      case 'planned':
        return this.resolvePlanned();
      case 'rows': {
        const data = unpackBytes(m.packed);
        const records = new Array<AppendRecord>(data.length);
        for (let i = 0; i < data.length; i++) records[i] = { data: data[i]!, partitionKey: m.partitionKeys[i]!, idempotencyKey: m.ids[i]! };
        this.events.rows(m.output, records);
        return;
      }
      case 'error':
        return this.events.error(m.row);
      case 'emittedUpTo':
        return this.events.emittedUpTo(m.output, m.time);
      case 'snapshot':
        return this.events.snapshot(m.taskId, m.id, m.state, m.sink);
      case 'progress': {
        this.inFlight -= m.taken;
        for (const w of this.creditWaiters.splice(0)) w();
        for (let i = 0; i < m.watermarks.length; i++) {
          const s = this.sources[i];
          if (s) s.watermark = m.watermarks[i]!;
          else this.sources.push({ watermark: m.watermarks[i]! });
        }
        if (m.rowsIn > 0) this.events.records(m.rowsIn);
        return;
      }
      case 'reload':
        return this.events.reload(m.event);
      case 'referenceRejected':
        return this.events.referenceRejected(m.table, m.sequenceNumber, m.problem);
      case 'ended':
        return this.finish(m.error === null ? null : fromWireError(m.error));
    }
  }

  threadDied(error: TollstreamError): void {
    this.finish(error);
  }

  private finish(error: TollstreamError | null): void {
    if (this.over) return;
    this.over = true;
    this.thread.queries.delete(this.qid);
    for (const w of this.creditWaiters.splice(0)) w();
    if (error) this.rejectEnded(error);
    else this.resolveEnded();
  }
}

/** The pool: up to `size` threads, started as queries need them. */
export class QueryThreads {
  private readonly threads: QueryThread[] = [];

  constructor(
    readonly size: number,
    private readonly options: QueryThreadOptions = {},
  ) {}

  /** Plans query `spec` on the thread with the fewest queries (a new one while the pool is not full). */
  open(spec: ThreadQuerySpec, events: ThreadQueryEvents): ThreadQuery {
    let thread = this.threads.reduce<QueryThread | null>((best, t) => (best === null || t.queries.size < best.queries.size ? t : best), null);
    if (thread === null || (thread.queries.size > 0 && this.threads.length < this.size)) {
      this.warm();
      thread = this.threads.find((t) => t.queries.size === 0)!;
    }
    return thread.open(spec, events);
  }

  /** Starts the threads not started yet, so their start-up overlaps the caller's (it is not awaited). */
  warm(): void {
    while (this.threads.length < this.size) this.threads.push(new QueryThread((t) => this.threads.splice(this.threads.indexOf(t) >>> 0, 1), this.options));
  }

  /** Ends the threads (their queries must be stopped first). */
  async close(): Promise<void> {
    const all = this.threads.splice(0);
    await Promise.all(all.map((t) => t.worker.terminate()));
  }
}
