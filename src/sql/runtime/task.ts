/**
 * Runs one operator: takes messages from its bounded queue, merges watermarks over inputs (the minimum),
 * aligns checkpoint barriers, and awaits every send downstream.
 */
import type { Row } from '../expr/types.ts';
import type { Message } from './messages.ts';
import type { Operator, Output } from './operator.ts';
import { BoundedQueue } from './queue.ts';

export interface Downstream {
  readonly queue: BoundedQueue;
  readonly input: number;
}

export interface TaskContext {
  /** Sends a failed row to the error stream; `input` says which input's columns describe an array row. */
  reportError(taskId: string, errorName: string, message: string, row: Row | Record<string, unknown>, input: number): void;
  reportSnapshot(taskId: string, barrierId: number, state: unknown): void;
}

export class Task {
  readonly queue: BoundedQueue;
  readonly downstream: Downstream[] = [];
  private readonly watermarks: number[];
  private currentWatermark = Number.NEGATIVE_INFINITY;
  /** The watermark last sent on: the current one, or less while the operator holds it back. */
  private forwardedWatermark = Number.NEGATIVE_INFINITY;
  private readonly ended: boolean[];
  private readonly barrierSeen: boolean[];
  private readonly held: Message[][];
  private aligning: number | null = null;
  private pending: Row[] = [];
  private errorInput = 0;
  private readonly out: Output;

  constructor(
    readonly id: string,
    readonly operator: Operator,
    readonly inputCount: number,
    capacity: number,
    private readonly ctx: TaskContext,
  ) {
    this.queue = new BoundedQueue(capacity);
    this.watermarks = new Array<number>(inputCount).fill(Number.NEGATIVE_INFINITY);
    this.ended = new Array<boolean>(inputCount).fill(false);
    this.barrierSeen = new Array<boolean>(inputCount).fill(false);
    this.held = Array.from({ length: inputCount }, () => []);
    const pending = () => this.pending;
    this.out = {
      emit: (row) => {
        pending().push(row);
      },
      error: (name, message, row) => this.ctx.reportError(this.id, name, message, row, this.errorInput),
    };
  }

  /** Inputs whose rows the restored state already holds (constant rows, see `skipRowsOf`). */
  private skipped: readonly boolean[] = [];

  /**
   * After a restore: drops the rows of these inputs. They carry constant rows (VALUES) and no barrier, so
   * every checkpoint of this task was taken after they ended (alignment waits for them) and holds them all.
   */
  skipRowsOf(inputs: readonly number[]): void {
    const skipped = new Array<boolean>(this.inputCount).fill(false);
    for (const i of inputs) skipped[i] = true;
    this.skipped = skipped;
  }

  async run(): Promise<void> {
    if (this.inputCount === 0) {
      this.operator.handleEnd(this.out);
      await this.flush();
    }
    while (!this.ended.every(Boolean)) {
      const { input, message } = await this.queue.receive();
      if (message.kind === 'cancel') {
        await this.cancel(input);
        return;
      }
      // During alignment, an input that already passed the barrier waits: its rows belong to the next snapshot.
      if (this.aligning !== null && this.barrierSeen[input]) {
        this.held[input]!.push(message);
        continue;
      }
      await this.handle(input, message);
    }
    await this.broadcast({ kind: 'end' });
  }

  /** Drops everything until every input has cancelled (so no upstream waits on a queue nobody reads), then passes it on. */
  private async cancel(first: number): Promise<void> {
    const gone = this.ended.slice();
    gone[first] = true;
    while (!gone.every(Boolean)) {
      const { input, message } = await this.queue.receive();
      if (message.kind === 'cancel' || message.kind === 'end') gone[input] = true;
    }
    await this.broadcast({ kind: 'cancel' });
  }

  private async handle(input: number, message: Message): Promise<void> {
    switch (message.kind) {
      case 'data':
        if (this.skipped[input] === true) return;
        this.errorInput = input;
        this.operator.processBatch(message.rows, input, this.out);
        await this.flush();
        return;
      case 'watermark':
        if (message.time > this.watermarks[input]!) this.watermarks[input] = message.time;
        await this.advanceWatermark();
        return;
      case 'barrier':
        this.barrierSeen[input] = true;
        this.aligning = message.id;
        await this.completeAlignment();
        return;
      case 'cancel':
        return;
      case 'end':
        this.ended[input] = true;
        this.watermarks[input] = Number.POSITIVE_INFINITY;
        await this.advanceWatermark();
        if (this.aligning !== null) await this.completeAlignment();
        if (this.ended.every(Boolean)) {
          this.operator.handleEnd(this.out);
          await this.flush();
        }
        return;
    }
  }

  private async advanceWatermark(): Promise<void> {
    let min = Number.POSITIVE_INFINITY;
    for (const w of this.watermarks) if (w < min) min = w;
    if (min <= this.currentWatermark) return;
    this.currentWatermark = min;
    this.operator.handleWatermark(min, this.out);
    await this.flush();
    const forward = Math.min(min, this.operator.heldWatermark?.() ?? min);
    if (forward <= this.forwardedWatermark) return;
    this.forwardedWatermark = forward;
    await this.broadcast({ kind: 'watermark', time: forward });
  }

  private async completeAlignment(): Promise<void> {
    const id = this.aligning;
    if (id === null) return;
    for (let i = 0; i < this.inputCount; i++) if (!this.barrierSeen[i] && !this.ended[i]) return;
    this.aligning = null;
    this.ctx.reportSnapshot(this.id, id, this.operator.handleCheckpoint(id));
    await this.broadcast({ kind: 'barrier', id });
    this.barrierSeen.fill(false);
    for (let i = 0; i < this.inputCount; i++) {
      const held = this.held[i]!.splice(0);
      for (let k = 0; k < held.length; k++) {
        // A held barrier may start the next alignment: what follows it on this input waits again.
        if (this.aligning !== null && this.barrierSeen[i]) {
          this.held[i]!.push(...held.slice(k));
          break;
        }
        await this.handle(i, held[k]!);
      }
    }
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    await this.broadcast({ kind: 'data', rows });
  }

  async broadcast(message: Message): Promise<void> {
    for (const d of this.downstream) await d.queue.send(d.input, message);
  }
}
