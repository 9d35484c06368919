/**
 * A bounded queue between tasks. Capacity counts rows (a control message counts as one), so memory stays
 * bounded whatever the batch size; `send` waits for room and every caller awaits it.
 */
import type { Message } from './messages.ts';

export interface Envelope {
  readonly input: number;
  readonly message: Message;
}

export class BoundedQueue {
  /** Slots before `head` were received and are cleared, so their rows can be collected. */
  private readonly items: (Envelope | undefined)[] = [];
  private head = 0;
  private size = 0;
  private wakeReceiver: (() => void) | null = null;
  private readonly wakeSenders: (() => void)[] = [];
  /** Highest depth seen, in rows: a metric for where a pipeline backs up. */
  maxDepth = 0;

  constructor(readonly capacity: number) {}

  get depth(): number {
    return this.size;
  }

  async send(input: number, message: Message): Promise<void> {
    const weight = message.kind === 'data' ? message.rows.length : 1;
    while (this.size > 0 && this.size + weight > this.capacity) {
      await new Promise<void>((resolve) => this.wakeSenders.push(resolve));
    }
    this.items.push({ input, message });
    this.size += weight;
    if (this.size > this.maxDepth) this.maxDepth = this.size;
    const wake = this.wakeReceiver;
    this.wakeReceiver = null;
    wake?.();
  }

  async receive(): Promise<Envelope> {
    while (this.head >= this.items.length) {
      await new Promise<void>((resolve) => {
        this.wakeReceiver = resolve;
      });
    }
    const env = this.items[this.head]!;
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    this.size -= env.message.kind === 'data' ? env.message.rows.length : 1;
    const waiters = this.wakeSenders.splice(0);
    for (const w of waiters) w();
    return env;
  }
}
