/**
 * A query thread: runs the operators of the queries the main thread gives it (query-threads.ts), one query
 * being the unit of work, as one query is the unit a cluster node holds under a lease. For each query it
 * plans the SQL, decodes the input records' fields, runs windows and aggregates, and turns output rows into
 * log records with their idempotency keys (output-encoder.ts); the main thread reads the inputs, appends the
 * records and stores the checkpoints. Messages of one query are handled in the order they were sent, and its
 * replies go back in the order things happened, so the rows delivered before a task passed a barrier reach
 * the main thread before that task's snapshot.
 */
import { parentPort } from 'node:worker_threads';
import type { AppendRecord } from '../log/index.ts';
import type { LiveItem, LivePlan } from '../sql/index.ts';
import { planLiveQuery, runLiveQuery } from '../sql/index.ts';
import { OutputEncoder } from './output-encoder.ts';
import { seal } from './sealed-state.ts';
import { packBytes, transferList, unpackBytes, type FromThread, type ThreadQuerySpec, type ToThread, type WireItem } from './thread-batches.ts';
import { toWireError } from './thread-support.ts';

const port = parentPort!;

/** One live input on this thread: the items the main thread sent, in order, until a cancel. */
class ItemQueue implements AsyncIterable<LiveItem> {
  private items: LiveItem[] = [];
  private head = 0;
  private wake: (() => void) | null = null;
  private cancelled = false;

  constructor(private readonly taken: (records: number) => void) {}

  push(item: LiveItem): void {
    if (this.cancelled) return;
    this.items.push(item);
    this.wakeUp();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.items = [{ kind: 'cancel' }];
    this.head = 0;
    this.cancelled = true;
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<LiveItem> {
    for (;;) {
      while (this.head < this.items.length) {
        const item = this.items[this.head++]!;
        if (this.head > 256 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        if (item.kind === 'records') this.taken(item.data.length);
        yield item;
        if (item.kind === 'cancel') return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

function fromWire(item: WireItem): LiveItem {
  if (item.kind !== 'records') return item;
  return { kind: 'records', partition: item.partition, data: unpackBytes(item.packed), arrivalTimes: Array.from(item.arrivalTimes) };
}

function post(message: FromThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

class HostedQuery {
  private plan: LivePlan | null = null;
  private backlog: ToThread[] | null = [];
  private readonly inputs = new Map<string, ItemQueue>();
  private readonly encoders = new Map<string, OutputEncoder>();
  private readonly outputOfTask = new Map<string, string>();
  /** Encoded rows not yet sent, per output. */
  private readonly outbox = new Map<string, AppendRecord[]>();
  private outboxScheduled = false;
  /** The latest output times not yet sent (after the rows before them), per output. */
  private readonly upTo = new Map<string, number>();
  private readonly sources: { readonly watermark: number }[] = [];
  private progress = { taken: 0, rowsIn: 0, scheduled: false };
  private over = false;
  private started = false;

  constructor(
    private readonly qid: number,
    private readonly spec: ThreadQuerySpec,
    private readonly forget: () => void,
  ) {
    planLiveQuery({ sql: spec.sql, inferred: spec.inferred, idleTimeoutMs: spec.idleTimeoutMs, referenceDir: spec.referenceDir }).then(
      (plan) => {
        this.plan = plan;
        for (const o of plan.outputs) {
          this.encoders.set(o.name, new OutputEncoder({ query: spec.query, output: o.name, keys: o.keys, forgetAfterMs: spec.forgetAfterMs, restore: spec.restoreSinks?.[o.name] }));
          this.outputOfTask.set(o.sinkTaskId, o.name);
        }
        post({ qid: this.qid, op: 'planned' });
        const backlog = this.backlog!;
        this.backlog = null;
        for (const m of backlog) this.receive(m);
      },
      (err: unknown) => this.end(err),
    );
  }

  receive(m: ToThread): void {
    if (this.over) return;
    if (this.backlog) {
      // A cancel need not wait for the plan.
      if (m.op === 'cancel') return this.end(null);
      this.backlog.push(m);
      return;
    }
    const plan = this.plan!;
    switch (m.op) {
      case 'open':
        return;
      case 'reference': {
        const problem = plan.referenceStreams.find((r) => r.name === m.table)?.table.apply(m.record) ?? null;
        if (problem !== null) post({ qid: this.qid, op: 'referenceRejected', table: m.table, sequenceNumber: m.sequenceNumber, problem });
        return;
      }
      case 'run':
        return this.run(plan);
      case 'item':
        this.inputs.get(m.input)?.push(fromWire(m.item));
        return;
      case 'cancel':
        if (!this.started) return this.end(null);
        for (const q of this.inputs.values()) q.cancel();
        return;
    }
  }

  private run(plan: LivePlan): void {
    this.started = true;
    for (const input of plan.inputs) this.inputs.set(input, new ItemQueue((n) => this.took(n)));
    runLiveQuery(plan, {
      inputs: this.inputs,
      restoreFrom: this.spec.restoreStates,
      batchSize: this.spec.batchSize,
      onSnapshot: (taskId, id, state) => {
        const output = this.outputOfTask.get(taskId);
        this.sendRows();
        this.sendProgress();
        const sealedState = seal(state);
        const sealedSink = output === undefined ? undefined : seal(this.encoders.get(output)!.snapshot(Date.now()));
        const transfer = [sealedState.buffer as ArrayBuffer];
        if (sealedSink) transfer.push(sealedSink.buffer as ArrayBuffer);
        post({ qid: this.qid, op: 'snapshot', taskId, id, state: sealedState, sink: sealedSink }, transfer);
      },
      deliver: (output, rows) => {
        let box = this.outbox.get(output);
        if (!box) this.outbox.set(output, (box = []));
        this.encoders.get(output)!.encodeRows(rows, Date.now(), box);
        if (this.outboxScheduled) return;
        // Every delivery of the current turn goes in one message per output.
        this.outboxScheduled = true;
        queueMicrotask(() => this.sendRows());
      },
      onEmittedUpTo: (output, time) => {
        this.upTo.set(output, time);
        if (this.outboxScheduled) return;
        this.outboxScheduled = true;
        queueMicrotask(() => this.sendRows());
      },
      onError: (row) => post({ qid: this.qid, op: 'error', row }),
      onReferenceReload: (event) => post({ qid: this.qid, op: 'reload', event }),
      onSource: (_input, task) => {
        this.sources.push(task);
      },
      onRecords: (_input, records) => {
        this.progress.rowsIn += records;
        this.scheduleProgress();
      },
    }).then(
      () => this.end(null),
      (err: unknown) => this.end(err),
    );
  }

  private took(records: number): void {
    this.progress.taken += records;
    this.scheduleProgress();
  }

  private scheduleProgress(): void {
    if (this.progress.scheduled) return;
    this.progress.scheduled = true;
    queueMicrotask(() => this.sendProgress());
  }

  private sendProgress(): void {
    this.progress.scheduled = false;
    const { taken, rowsIn } = this.progress;
    if (taken === 0 && rowsIn === 0) return;
    this.progress.taken = 0;
    this.progress.rowsIn = 0;
    post({ qid: this.qid, op: 'progress', taken, rowsIn, watermarks: this.sources.map((s) => s.watermark) });
  }

  private sendRows(): void {
    this.outboxScheduled = false;
    for (const [output, records] of this.outbox) {
      if (records.length === 0) continue;
      this.outbox.set(output, []);
      const packed = packBytes(records.map((r) => r.data));
      post({ qid: this.qid, op: 'rows', output, packed, partitionKeys: records.map((r) => r.partitionKey), ids: records.map((r) => r.idempotencyKey!) }, transferList(packed));
    }
    // After the rows: the main thread marks a time once the rows it received before it are appended.
    for (const [output, time] of this.upTo) post({ qid: this.qid, op: 'emittedUpTo', output, time });
    this.upTo.clear();
  }

  private end(err: unknown): void {
    if (this.over) return;
    this.over = true;
    this.sendRows();
    this.sendProgress();
    post({ qid: this.qid, op: 'ended', error: err === null ? null : toWireError(err) });
    this.forget();
  }
}

const hosted = new Map<number, HostedQuery>();

port.on('message', (m: ToThread) => {
  if (m.op === 'open') {
    hosted.set(m.qid, new HostedQuery(m.qid, m.spec, () => hosted.delete(m.qid)));
    return;
  }
  hosted.get(m.qid)?.receive(m);
});
