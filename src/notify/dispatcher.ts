/**
 * The dispatcher: fans committed outbox rows out to inbox entries and webhook deliveries (one transaction
 * per page of rows), then POSTs due webhook deliveries with retries. All its state is in the database, so
 * after a restart it carries on where it stopped: undispatched rows are fanned out, pending deliveries
 * are attempted again (a request in flight at a crash is repeated: webhooks are at-least-once, and the
 * `webhook-id` lets receivers drop the repeat). Messages of mirrored topics are appended to their streams
 * by the mirror relay, one append at a time.
 */
import type { Logger } from '../core/logger.ts';
import type { Tables } from '../tables/index.ts';
import type { DeliveryStore, DueDelivery } from './deliveries.ts';
import type { InboxHub } from './feed.ts';
import type { MirrorRelay } from './mirror.ts';
import type { NotifyStore } from './store.ts';
import type { RetryPolicy } from './types.ts';
import { backoffDelayMs, signWebhook } from './webhook.ts';

const FAN_OUT_PAGE = 100;

export interface DispatcherDeps {
  readonly tables: Tables;
  readonly store: NotifyStore;
  readonly deliveries: DeliveryStore;
  readonly hub: InboxHub;
  /** Present when some topics are mirrored to streams. */
  readonly mirror: MirrorRelay | undefined;
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  readonly pollIntervalMs: number;
  readonly concurrency: number;
  readonly fetch: typeof fetch;
  readonly random: () => number;
  readonly now: () => number;
}

export class Dispatcher {
  readonly #deps: DispatcherDeps;
  readonly #inflight = new Map<number, Promise<void>>();
  #mirroring: Promise<void> | undefined;
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #stopping = new AbortController();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = new AbortController();
    this.#deps.logger.info('dispatcher started');
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#timer);
    this.#stopping.abort();
    await Promise.allSettled([...this.#inflight.values(), this.#mirroring]);
    this.#deps.logger.info('dispatcher stopped');
  }

  /** Stops at once without waiting (the database is closing): in-flight attempts are aborted and stay pending. */
  halt(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#stopping.abort();
  }

  /** New work was committed in this process: look now rather than at the next poll. */
  wake(): void {
    if (this.#running) this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), delayMs);
  }

  #tick(): void {
    if (!this.#running) return;
    const { logger, deliveries, pollIntervalMs, now } = this.#deps;
    try {
      this.#fanOut();
      this.#launchDue();
      this.#launchMirror();
    } catch (err) {
      logger.error('dispatch pass failed; retrying at the next poll', { err });
    }
    if (!this.#running) return;
    let delay = pollIntervalMs;
    try {
      const next = deliveries.nextDueAt();
      // A due delivery already in flight wakes us when it finishes; only later ones need a timer.
      if (next !== undefined && next > now()) delay = Math.min(delay, next - now());
      const mirrorAt = this.#deps.mirror?.retryAt ?? 0;
      if (mirrorAt > now()) delay = Math.min(delay, mirrorAt - now());
    } catch (err) {
      logger.error('cannot read the next due delivery', { err });
    }
    this.#schedule(delay);
  }

  #fanOut(): void {
    const { tables, store, deliveries, hub, mirror, now } = this.#deps;
    for (;;) {
      const touched = new Set<string>();
      const count = tables.transaction(() => {
        const rows = store.undispatched(FAN_OUT_PAGE);
        const t = now();
        for (const row of rows) {
          const topic = store.topic(row.topic);
          if (topic?.kind === 'inbox' && topic.customerField) {
            const customerId = (JSON.parse(row.message) as Record<string, unknown>)[topic.customerField];
            if (typeof customerId === 'string' && customerId !== '' && store.insertInbox(customerId, row, t)) touched.add(customerId);
          }
          for (const sub of store.subscriptionsOf(row.topic)) {
            if (sub.protocol === 'inbox' && sub.customer_id !== null) {
              if (store.insertInbox(sub.customer_id, row, t)) touched.add(sub.customer_id);
            } else if (sub.protocol === 'webhook' && sub.url !== null && sub.secret !== null) {
              deliveries.insert(row.id, sub.id, sub.url, sub.secret, t);
            }
          }
          mirror?.fanOut(row, t);
          store.markDispatched(row.id, t);
        }
        return rows.length;
      });
      for (const customerId of touched) hub.notify(customerId);
      if (count < FAN_OUT_PAGE) return;
    }
  }

  #launchDue(): void {
    const { deliveries, concurrency, now } = this.#deps;
    const free = concurrency - this.#inflight.size;
    if (free <= 0) return;
    const due = deliveries.due(now(), free + this.#inflight.size).filter((d) => !this.#inflight.has(d.id));
    for (const delivery of due.slice(0, free)) {
      const attempt = this.#attempt(delivery)
        .catch((err: unknown) => this.#deps.logger.error('recording a webhook attempt failed', { deliveryId: delivery.id, err }))
        .finally(() => {
          this.#inflight.delete(delivery.id);
          this.wake();
        });
      this.#inflight.set(delivery.id, attempt);
    }
  }

  #launchMirror(): void {
    const { mirror, logger, now } = this.#deps;
    if (!mirror || this.#mirroring || now() < mirror.retryAt) return;
    let moved = false;
    this.#mirroring = mirror
      .run(this.#stopping.signal)
      .then(
        (m) => void (moved = m),
        (err: unknown) => logger.error('mirroring messages to their streams failed; retrying at the next poll', { err }),
      )
      .finally(() => {
        this.#mirroring = undefined;
        // More may be waiting behind a full page; an idle relay waits for the next fan-out or poll.
        if (moved) this.wake();
      });
  }

  async #attempt(delivery: DueDelivery): Promise<void> {
    const { tables, deliveries, retry, logger, now, random } = this.#deps;
    const body = `{"type":${JSON.stringify(delivery.topic)},"timestamp":"${new Date(delivery.created_at).toISOString()}","data":${delivery.message}}`;
    const timestamp = Math.floor(now() / 1000);
    const stopping = this.#stopping.signal;
    let error: string | undefined;
    try {
      const response = await this.#deps.fetch(delivery.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Tollstream-Webhooks/1',
          'webhook-id': delivery.idempotency_key,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(delivery.secret, delivery.idempotency_key, timestamp, body),
        },
        signal: AbortSignal.any([stopping, AbortSignal.timeout(retry.timeoutMs)]),
      });
      await response.body?.cancel();
      if (response.status < 200 || response.status > 299) error = `HTTP ${response.status}`;
    } catch (err) {
      // Stopped mid-request: the attempt does not count; the delivery stays pending for the next start.
      if (stopping.aborted) return;
      error = describeFetchError(err, retry.timeoutMs);
    }
    const t = now();
    const attempts = delivery.attempts + 1;
    const fields = { deliveryId: delivery.id, url: delivery.url, webhookId: delivery.idempotency_key, attempts };
    try {
      tables.transaction(() => {
        if (error === undefined) deliveries.markDelivered(delivery.id, t);
        else if (attempts >= retry.maxAttempts) deliveries.markDead(delivery.id, error, t);
        else deliveries.markFailed(delivery.id, error, t + backoffDelayMs(attempts, retry.baseDelayMs, retry.maxDelayMs, random), t);
      });
    } catch (err) {
      // Halted because the database closed: the delivery stays pending and is attempted again after reopening.
      if (stopping.aborted) return;
      throw err;
    }
    if (error === undefined) logger.debug('webhook delivered', fields);
    else if (attempts >= retry.maxAttempts) logger.warn('webhook dead-lettered after its last attempt', { ...fields, error });
    else logger.info('webhook attempt failed; will retry', { ...fields, error });
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
