/**
 * Planted spending breaches for benchmarks that measure breach-to-notification latency through a running
 * `tollstream up`: customers with thresholds watching their notification streams (the readers of
 * bench/alerts), tolls that alone cross those thresholds, and a sink that sends each planted toll once it is
 * due and records when its PutRecords was issued and acknowledged.
 */
import type { Sink, SinkResult, TollTransaction } from '../../src/simulator/index.ts';
import { NotificationWatcher } from '../alerts/watch.ts';
import type { LoadGenerator, LoadRunResult } from './loadgen/client.ts';
import { sleep } from './stats.ts';

export { NotificationWatcher, type Arrival } from '../alerts/watch.ts';

/** A threshold ordinary traffic cannot reach within a run ($500,000), and a planted spend that crosses it alone. */
export const THRESHOLD_CENTS = 50_000_000;
export const PLANTED_CENTS = 60_000_000;

async function call(url: string, method: string, route: string, body?: unknown, token?: string): Promise<any> {
  const res = await fetch(url + route, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * Creates each customer through the operator API (`POST /v1/customers`), issues its token, sets its threshold
 * through the customer API (`PUT /v1/me/threshold`) and opens its notification stream. Resolves once every
 * stream is open.
 */
export async function watchedCustomers(url: string, customerIds: readonly string[], thresholdCents = THRESHOLD_CENTS): Promise<NotificationWatcher[]> {
  const watchers: NotificationWatcher[] = [];
  for (const id of customerIds) {
    await call(url, 'POST', '/v1/customers', { customer_id: id, email: `${id.toLowerCase()}@example.com` });
    const { token } = await call(url, 'POST', `/v1/customers/${id}/tokens`);
    await call(url, 'PUT', '/v1/me/threshold', { threshold_cents: thresholdCents }, token);
    watchers.push(new NotificationWatcher(url, id, token));
  }
  await Promise.all(watchers.map((w) => w.open()));
  return watchers;
}

/** Customer ids of the simulator's world (`C0000001`..), `count` of them spread evenly over `customers`. */
export function spreadCustomerIds(count: number, customers: number): string[] {
  const step = Math.max(1, Math.floor(customers / count));
  return Array.from({ length: Math.min(count, customers) }, (_, i) => `C${String(1 + i * step).padStart(7, '0')}`);
}

/** A toll of `amountCents` (default `PLANTED_CENTS`) for `customerId`, event time now: alone it crosses `THRESHOLD_CENTS`. */
export function plantedToll(customerId: string, dueAt: number, amountCents = PLANTED_CENTS): TollTransaction {
  return {
    transaction_id: `planted-${customerId}-${dueAt}`,
    customer_id: customerId,
    tag_id: `TAG-${customerId}`,
    plate: 'PLT-0001',
    plaza_id: 'P01',
    lane: 1,
    vehicle_class: 5,
    amount_cents: amountCents,
    currency: 'USD',
    event_time: new Date().toISOString(),
  };
}

export interface PlantAck {
  readonly customerId: string;
  /** `performance.now()` when the planted toll's PutRecords was issued. */
  readonly issuedAt: number;
  /** `performance.now()` when it was acknowledged. */
  readonly ackAt: number;
  /** The same moment on the wall clock (ms since the epoch), to compare with a notification's `created_at`. */
  readonly ackWall: number;
}

export interface PlantingSink extends Sink {
  /** Planted tolls acknowledged so far, by transaction id. */
  readonly acks: ReadonlyMap<string, PlantAck>;
  /** Schedules a planted toll for `customerId`, sent with the first batch sent at or after `dueAt` (ms since the epoch). */
  plant(customerId: string, dueAt: number): void;
  /** Planted tolls scheduled and not yet sent. */
  pending(): number;
  /** Sends the planted tolls that are due, in a PutRecords of their own, without a batch of traffic. */
  sendDue(): Promise<void>;
}

/**
 * Wraps `inner`: each planted toll that is due goes out in a PutRecords of its own, issued together with the
 * next batch (so a batch never exceeds its size) or by `sendDue` when the traffic goes another way, and its
 * acknowledgement time is recorded. The batch's
 * result is returned; the planted tolls are counted in `acks` only.
 */
export function plantingSink(inner: Sink): PlantingSink {
  const queue: { customerId: string; dueAt: number }[] = [];
  const acks = new Map<string, PlantAck>();
  const sendDue = async (): Promise<void> => {
    const due: TollTransaction[] = [];
    while (queue.length > 0 && queue[0]!.dueAt <= Date.now()) {
      const p = queue.shift()!;
      due.push(plantedToll(p.customerId, p.dueAt));
    }
    if (due.length === 0) return;
    const issuedAt = performance.now();
    const r = await inner.send(due);
    if (r.failed > 0) throw new Error(`PutRecords failed ${r.failed} planted tolls`);
    const ackAt = performance.now();
    const ackWall = Date.now();
    for (const tx of due) acks.set(tx.transaction_id, { customerId: tx.customer_id, issuedAt, ackAt, ackWall });
  };
  return {
    acks,
    plant(customerId, dueAt) {
      queue.push({ customerId, dueAt });
      queue.sort((a, b) => a.dueAt - b.dueAt);
    },
    pending: () => queue.length,
    async send(batch): Promise<SinkResult> {
      const planted = sendDue();
      const result = await inner.send(batch);
      await planted;
      return result;
    },
    sendDue,
    close: () => inner.close(),
  };
}

/** Several producers behind one sink: each batch goes to the next one in turn (each its own client and connection). */
export function roundRobinSink(producers: readonly Sink[]): Sink {
  let next = 0;
  return {
    send(batch) {
      const producer = producers[next++ % producers.length]!;
      return producer.send(batch);
    },
    async close() {
      await Promise.all(producers.map((p) => p.close()));
    },
  };
}

/** What the load generator is to send in `replayWithPlants`: bodies prepared under `name`, paced at `rate`. */
export interface ReplaySpec {
  readonly name: string;
  readonly url: string;
  readonly rate: number;
  readonly durationMs: number;
  readonly concurrency: number;
  /** HTTP/2 sessions of the load generator. */
  readonly connections: number;
}

/**
 * Paced traffic from the load generator process (pre-built PutRecords bodies, each stamped with new ids and
 * times and signed as it is sent), with this process sending the planted tolls of `sink` when they are due, so
 * the producer of the traffic is not what the benchmark process spends its CPU on.
 */
export async function replayWithPlants(loadgen: LoadGenerator, sink: PlantingSink, spec: ReplaySpec): Promise<LoadRunResult> {
  let running = true;
  const planting = (async () => {
    while (running) {
      await sink.sendDue();
      await sleep(20);
    }
    await sink.sendDue();
  })();
  try {
    return await loadgen.run({ ...spec });
  } finally {
    running = false;
    await planting;
  }
}
