/**
 * Traffic for the scale-of-state benchmark: the simulator's tolls through the Kinesis API (its kinesisSink),
 * with each toll's customer drawn over the whole key space of N seeded customers, producers that retry a
 * batch until the server answers again (as roadside equipment does across a server restart), and a ledger of
 * what was acknowledged, per customer, to check the totals against at the end.
 */
import { kinesisSink, runSimulation, TrafficGenerator, type GeneratedRecord, type Sink, type SinkResult } from '../../src/simulator/index.ts';
import { roundRobinSink } from '../lib/alerts.ts';
import { sleep } from '../lib/stats.ts';
import { customerId } from './seed.ts';

/**
 * The seeded customer a toll belongs to: a hash of its transaction id over 1..N, so traffic touches the whole
 * key space evenly (the simulator's world of heavy and light users would need N customer objects in memory),
 * and a producer's retry of the same transaction goes to the same customer and shard, where dedupe finds it.
 */
export function customerFor(transactionId: string, customers: number): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < transactionId.length; i++) h = Math.imul(h ^ transactionId.charCodeAt(i), 0x01000193);
  return customerId(1 + ((h >>> 0) % customers));
}

/** Unique tolls acknowledged by the server, in total and per customer. */
export class TrafficLedger {
  acknowledged = 0;
  readonly byCustomer = new Map<string, number>();

  constructor(private readonly customers: number) {}

  record(batch: readonly GeneratedRecord[]): void {
    for (const r of batch) {
      // A generated retry repeats a transaction already counted: the stream's dedupe drops it.
      if (r.duplicate) continue;
      this.acknowledged++;
      const id = customerFor(r.transaction.transaction_id, this.customers);
      this.byCustomer.set(id, (this.byCustomer.get(id) ?? 0) + 1);
    }
  }
}

/** Rewrites each toll's customer to its seeded customer (`customerFor`), which is also its partition key. */
function spreadSink(inner: Sink, customers: number): Sink {
  return {
    send: (batch) => inner.send(batch.map((tx) => ({ ...tx, customer_id: customerFor(tx.transaction_id, customers) }))),
    close: () => inner.close(),
  };
}

/** How long a producer keeps retrying one batch while the server is away. */
const RETRY_FOR_MS = 120_000;

/**
 * Retries a batch that failed with an error (connection refused or reset while the server restarts) with the
 * same transaction ids until it is acknowledged, for at most `RETRY_FOR_MS`; `onRetry` counts the retries.
 */
function retryingSink(inner: Sink, onRetry: (err: unknown) => void): Sink {
  let closed = false;
  return {
    async send(batch): Promise<SinkResult> {
      const giveUpAt = Date.now() + RETRY_FOR_MS;
      for (let attempt = 0; ; attempt++) {
        try {
          return await inner.send(batch);
        } catch (err) {
          // An answer of 4xx is a request the server will refuse again: only a missing server or a 5xx is retried.
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (closed || Date.now() > giveUpAt || (status !== undefined && status < 500)) throw err;
          onRetry(err);
          await sleep(Math.min(1000, 100 * 2 ** attempt));
        }
      }
    },
    close: () => {
      closed = true;
      return inner.close();
    },
  };
}

export interface Producers {
  readonly sink: Sink;
  /** Batches retried after an error so far. */
  retries(): number;
  close(): Promise<void>;
}

/** `count` SDK producers to `endpoint` (each its own client), round robin, spread over N customers, retrying. */
export function producers(endpoint: string, count: number, customers: number): Producers {
  let retries = 0;
  const sink = retryingSink(
    spreadSink(roundRobinSink(Array.from({ length: count }, () => kinesisSink({ endpoint, stream: 'toll_transactions' }))), customers),
    () => retries++,
  );
  return { sink, retries: () => retries, close: () => sink.close() };
}

export interface TrafficOptions {
  readonly sink: Sink;
  readonly ledger: TrafficLedger;
  /** Seeds differ per phase, so each phase's transaction ids are new (`tx-<seed>-<n>`). */
  readonly seed: number;
  readonly rate: number;
  readonly durationMs: number;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Stops the traffic before `durationMs` (the batches in flight are still answered). */
  readonly signal?: AbortSignal;
}

/** Paced traffic for `durationMs`; resolves with the simulator's counts once every batch in flight is answered. */
export async function runTraffic(options: TrafficOptions): Promise<{ sent: number; accepted: number; failed: number; elapsedMs: number }> {
  const generator = new TrafficGenerator({
    seed: options.seed,
    // Plazas, vehicles and tariffs of a small world; the customer is replaced by one of all N (customerFor).
    customers: 10_000,
    startTime: Date.now(),
    eventsPerSecond: options.rate,
    dailyProfile: false,
  });
  const stats = await runSimulation({
    generator,
    sink: options.sink,
    rate: options.rate,
    durationMs: options.durationMs,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    onAcknowledged: (batch) => options.ledger.record(batch),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { sent: stats.sent, accepted: stats.accepted, failed: stats.failed, elapsedMs: stats.elapsedMs };
}
