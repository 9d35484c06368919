/**
 * The dispatcher: fans committed outbox rows out to inbox entries and deliveries (webhook, Web Push, email;
 * one transaction per page of rows), then sends due deliveries (channels.ts) with retries. All its state is in the database, so
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
import type { NotifyStore, OutboxRow } from './store.ts';
import { send, type ChannelDeps, type SendOutcome } from './channels.ts';
import { backoffDelayMs } from './webhook.ts';

const FAN_OUT_PAGE = 100;

export interface DispatcherDeps extends ChannelDeps {
  readonly tables: Tables;
  readonly store: NotifyStore;
  readonly deliveries: DeliveryStore;
  readonly hub: InboxHub;
  /** Present when some topics are mirrored to streams. */
  readonly mirror: MirrorRelay | undefined;
  readonly logger: Logger;
  readonly pollIntervalMs: number;
  readonly concurrency: number;
  readonly random: () => number;
  /** The address of a customer, for email subscriptions without one of their own (looked up before the fan-out). */
  readonly addressOf: ((customerId: string) => Promise<string | undefined> | string | undefined) | undefined;
}

export class Dispatcher {
  readonly #deps: DispatcherDeps;
  readonly #inflight = new Map<number, Promise<void>>();
  #mirroring: Promise<void> | undefined;
  #running = false;
  /** The pass running now (it awaits address lookups); a wake meanwhile runs another pass right after it. */
  #passing: Promise<void> | undefined;
  #again = false;
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
    await Promise.allSettled([...this.#inflight.values(), this.#mirroring, this.#passing]);
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
    if (this.#passing) {
      this.#again = true;
      return;
    }
    this.#passing = this.#pass().finally(() => {
      this.#passing = undefined;
      if (this.#again && this.#running) {
        this.#again = false;
        this.#schedule(0);
      }
    });
  }

  async #pass(): Promise<void> {
    const { logger, deliveries, pollIntervalMs, now } = this.#deps;
    try {
      await this.#fanOut();
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

  async #fanOut(): Promise<void> {
    const { tables, store, deliveries, hub, mirror, now } = this.#deps;
    for (;;) {
      if (!this.#running) return;
      // Addresses are looked up first, outside the transaction (the customers may live in another store); a row
      // whose customer was not looked up (it became due meanwhile) waits for the next page.
      const addresses = await this.#addressesFor(store.undispatched(FAN_OUT_PAGE));
      if (!this.#running) return;
      const touched = new Set<string>();
      const count = tables.transaction(() => {
        const rows = store.undispatched(FAN_OUT_PAGE);
        const t = now();
        let done = 0;
        for (const row of rows) {
          if (!addresses.has(row.id)) break;
          const customerId = this.#customerOf(row);
          if (customerId !== undefined && store.insertInbox(customerId, row, t)) touched.add(customerId);
          for (const sub of store.fanOutSubscriptionsOf(row.topic)) {
            if (sub.protocol === 'inbox' && sub.customer_id !== null) {
              if (store.insertInbox(sub.customer_id, row, t)) touched.add(sub.customer_id);
            } else if (sub.protocol === 'webhook' && sub.url !== null && sub.secret !== null) {
              deliveries.insert(row.id, sub.id, 'webhook', sub.url, sub.secret, t);
            } else if (sub.protocol === 'email') {
              const address = sub.url ?? addresses.get(row.id);
              if (address) deliveries.insert(row.id, sub.id, 'email', `mailto:${address}`, '', t);
            }
          }
          // A browser's push subscription gets its own customer's messages only.
          if (customerId !== undefined) {
            for (const sub of store.pushSubscriptionsOf(row.topic, customerId)) deliveries.insert(row.id, sub.id, 'webpush', sub.url!, sub.secret!, t);
          }
          mirror?.fanOut(row, t);
          store.markDispatched(row.id, t);
          done++;
        }
        return done;
      });
      for (const customerId of touched) hub.notify(customerId);
      if (count < FAN_OUT_PAGE) return;
    }
  }

  /**
   * The email address of each row's customer, by row id (undefined: no address), for rows of topics with an email
   * subscription that has no address of its own; every other row maps to undefined.
   */
  async #addressesFor(rows: readonly OutboxRow[]): Promise<Map<number, string | undefined>> {
    const { store, addressOf } = this.#deps;
    const found = new Map<number, string | undefined>();
    const byCustomer = new Map<string, Promise<string | undefined> | string | undefined>();
    for (const row of rows) {
      found.set(row.id, undefined);
      if (!addressOf || !store.fanOutSubscriptionsOf(row.topic).some((s) => s.protocol === 'email' && s.url === null)) continue;
      const customerId = this.#customerOf(row);
      if (customerId === undefined) continue;
      if (!byCustomer.has(customerId)) byCustomer.set(customerId, addressOf(customerId));
      found.set(row.id, await byCustomer.get(customerId));
    }
    return found;
  }

  /** The customer a message of an inbox topic names in the topic's customer field, if any. */
  #customerOf(row: OutboxRow): string | undefined {
    const topic = this.#deps.store.topic(row.topic);
    const named = topic?.kind === 'inbox' && topic.customerField ? (JSON.parse(row.message) as Record<string, unknown>)[topic.customerField] : undefined;
    return typeof named === 'string' && named !== '' ? named : undefined;
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
    const { tables, deliveries, store, retry, logger, now, random } = this.#deps;
    const stopping = this.#stopping.signal;
    let outcome: SendOutcome;
    try {
      outcome = await send(delivery, this.#deps, stopping);
    } catch (err) {
      // Stopped mid-send: the attempt does not count; the delivery stays pending for the next start.
      if (stopping.aborted) return;
      outcome = { error: err instanceof Error ? err.message : String(err) };
    }
    const { error } = outcome;
    const t = now();
    const attempts = delivery.attempts + 1;
    const dead = error !== undefined && (attempts >= retry.maxAttempts || outcome.permanent === true);
    // A webhook's URL is the operator's; an email address or a push endpoint is a customer's, named by its subscription.
    const fields = { deliveryId: delivery.id, channel: delivery.channel, subscriptionId: delivery.subscription_id, ...(delivery.channel === 'webhook' ? { url: delivery.url } : {}), idempotencyKey: delivery.idempotency_key, attempts };
    try {
      tables.transaction(() => {
        if (error === undefined) deliveries.markDelivered(delivery.id, t);
        else if (dead) deliveries.markDead(delivery.id, error, t);
        else deliveries.markFailed(delivery.id, error, t + backoffDelayMs(attempts, retry.baseDelayMs, retry.maxDelayMs, random), t);
        if (outcome.subscriptionGone) store.deleteSubscription(delivery.subscription_id);
      });
    } catch (err) {
      // Halted because the database closed: the delivery stays pending and is attempted again after reopening.
      if (stopping.aborted) return;
      throw err;
    }
    if (error === undefined) logger.debug(`${delivery.channel} delivered`, fields);
    else if (dead) logger.warn(`${delivery.channel} delivery dead-lettered${outcome.permanent ? ' (the failure is permanent)' : ' after its last attempt'}`, { ...fields, error });
    else logger.info(`${delivery.channel} attempt failed; will retry`, { ...fields, error });
    if (outcome.subscriptionGone) logger.info('push subscription removed: its push service no longer knows it', { subscriptionId: delivery.subscription_id });
  }
}

