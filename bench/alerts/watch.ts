/**
 * What the alerts benchmark watches while traffic runs: customers' open notification streams (when each breach
 * arrives) and the server's /metrics (how far behind the spend function is).
 */

export interface Arrival {
  readonly customerId: string;
  readonly transactionId: string | undefined;
  /** `performance.now()` in this process when the event was read off the stream. */
  readonly at: number;
  /** The notification's `created_at` (server wall clock, ms since the epoch). */
  readonly createdAtMs: number;
}

/** One customer's `GET /v1/me/notifications/stream`, read until `close()`. */
export class NotificationWatcher {
  readonly arrivals: Arrival[] = [];
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    readonly customerId: string,
    private readonly token: string,
  ) {}

  /** Resolves once the stream is open (its opening comment arrived). */
  async open(): Promise<void> {
    const res = await fetch(`${this.url}/v1/me/notifications/stream`, { headers: { authorization: `Bearer ${this.token}` }, signal: this.abort.signal });
    if (res.status !== 200 || !res.body) throw new Error(`notification stream of ${this.customerId} answered ${res.status}`);
    const reader = res.body.getReader();
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    this.done = this.read(reader, opened).catch(() => undefined);
    await isOpen;
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>, opened: () => void): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const at = performance.now();
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(':')) opened();
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (!/^event: ?notification$/m.test(block) || !data) continue;
        const n = JSON.parse(data) as { created_at: string; message: { transaction_id?: string } };
        this.arrivals.push({ customerId: this.customerId, transactionId: n.message.transaction_id, at, createdAtMs: Date.parse(n.created_at) });
      }
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

export interface MetricsSample {
  /** Seconds since the phase's traffic started. */
  readonly t: number;
  /** Highest `tollstream_function_iterator_age_seconds` over the mappings, in ms. */
  readonly iteratorAgeMs: number;
  /** Sum of `tollstream_function_records_total`: records whose effects are committed. */
  readonly recordsApplied: number;
  /** Sum of `tollstream_function_invocations_total`. */
  readonly invocations: number;
  readonly outboxPending: number;
  /** Unique records the load generator had had acknowledged at that moment. */
  readonly acknowledged: number;
}

function series(text: string, name: string, labels?: RegExp): number[] {
  const out: number[] = [];
  const re = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm');
  for (let m = re.exec(text); m; m = re.exec(text)) if (!labels || labels.test(m[1] ?? '')) out.push(Number(m[2]));
  return out;
}

export async function sampleMetrics(url: string, t: number, acknowledged: number): Promise<MetricsSample> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return {
    t,
    iteratorAgeMs: Math.max(0, ...series(text, 'tollstream_function_iterator_age_seconds')) * 1000,
    // Tolls taken in by the mapping that reads toll_transactions: the validation step of the SQL path, or the
    // spend function itself on the direct path (the windows mapping counts window rows, not tolls).
    recordsApplied: series(text, 'tollstream_function_records_total', /mapping="[^"]*-(validate|transactions)"/).reduce((a, b) => a + b, 0),
    invocations: series(text, 'tollstream_function_invocations_total').reduce((a, b) => a + b, 0),
    outboxPending: series(text, 'tollstream_notify_outbox_pending')[0] ?? 0,
    acknowledged,
  };
}
