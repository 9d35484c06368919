/**
 * Closes the processing-time windows of the customer spend query when traffic stops.
 *
 * A window over ROWTIME closes when the query's watermark passes its end, and on the live log the watermark
 * moves only with records: after the last toll of a burst, its window would stay open until the next toll
 * arrives, and a breach in it would wait as long. So once a window that received tolls has ended, this
 * appends one heartbeat record (`{"heartbeat": true}`, no customer_id: the query filters it out) to the
 * query's input; its arrival time is past the window's end, which moves the watermark and closes the window.
 * Under steady traffic the tolls themselves close the windows and a heartbeat is rarely needed.
 */
import type { Logger } from '../../core/logger.ts';
import type { StreamLog } from '../../log/index.ts';

export interface WindowCloserOptions {
  readonly log: StreamLog;
  /** The query's input stream. One shard: the heartbeat must reach the shard the tolls are on. */
  readonly stream: string;
  readonly windowMs: number;
  readonly logger: Logger;
  /** How often it checks whether a window with tolls has ended, ms. @default min(100, windowMs / 4) */
  readonly checkEveryMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const encoder = new TextEncoder();

export class WindowCloser {
  readonly #options: WindowCloserOptions;
  readonly #now: () => number;
  /** The end of the latest window that may hold tolls and has not seen a record arrive after it. */
  #closeAt: number | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #inFlight: Promise<void> | undefined;
  #sent = 0;

  constructor(options: WindowCloserOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Heartbeats appended since start. */
  get heartbeats(): number {
    return this.#sent;
  }

  /**
   * Starts checking. Windows restored from the query's checkpoint may be open, so the current window is
   * closed in any case.
   */
  start(): void {
    this.#closeAt = this.#windowEnd(this.#now());
    const every = this.#options.checkEveryMs ?? Math.max(1, Math.min(100, Math.floor(this.#options.windowMs / 4)));
    this.#timer = setInterval(() => this.#check(), every);
    this.#timer.unref();
  }

  /** Tolls were appended to the input (call after the append resolved: their arrival time is before now). */
  notePassed(): void {
    const end = this.#windowEnd(this.#now());
    if (this.#closeAt === undefined || end > this.#closeAt) this.#closeAt = end;
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  #windowEnd(ms: number): number {
    const w = this.#options.windowMs;
    return Math.floor(ms / w) * w + w;
  }

  #check(): void {
    if (this.#inFlight || this.#closeAt === undefined) return;
    const startedAt = this.#now();
    if (startedAt < this.#closeAt) return;
    const { log, stream, logger } = this.#options;
    const data = encoder.encode(JSON.stringify({ heartbeat: true, at: new Date(startedAt).toISOString() }));
    this.#inFlight = log
      .append(stream, [{ data, partitionKey: 'heartbeat', idempotencyKey: `heartbeat:${startedAt}:${Math.random().toString(36).slice(2)}` }])
      .then((results) => {
        if (!results[0]?.ok) throw new Error(results[0] && !results[0].ok ? results[0].errorMessage : 'no result');
        this.#sent++;
        // Appended at or after `startedAt`: every window ending by then is closed, unless tolls came since.
        if (this.#closeAt !== undefined && this.#closeAt <= startedAt) this.#closeAt = undefined;
      })
      .catch((err: unknown) => logger.warn('cannot append a heartbeat to close the spend window; retrying', { stream, err }))
      .finally(() => {
        this.#inFlight = undefined;
      });
  }
}
