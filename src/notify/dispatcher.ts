/**
 * The dispatcher: fans committed outbox rows out to inbox entries and deliveries (webhook, Web Push, email;
 * one transaction per page of rows), then sends due deliveries (channels.ts) with retries. All its state is in the database, so
 * after a restart it carries on where it stopped: undispatched rows are fanned out, pending deliveries
 * are attempted again (a request in flight at a crash is repeated: webhooks are at-least-once, and the
 * `webhook-id` lets receivers drop the repeat). Messages of mirrored topics are appended to their streams
 * by the mirror relay, one append at a time.
 */
import type { Logger } from '../core/logger.ts';
import type { DueDelivery } from './deliveries.ts';
import type { InboxHub } from './feed.ts';
import { MirrorRelay, resolveMirrorRoutes, type MirrorBackend } from './mirror.ts';
import type { OutboxRow, SubscriptionRow } from './store.ts';
import type { DeliveryChannel, NotifyOptions, RetryPolicy, TopicDescription } from './types.ts';
import { renderPlainly, send, type ChannelDeps, type SendOutcome } from './channels.ts';
import { positiveInteger } from './checks.ts';
import { backoffDelayMs } from './webhook.ts';

export const FAN_OUT_PAGE = 100;

/** What fan-out makes of one outbox row: the inboxes it lands in and the deliveries that send it out. */
export interface FanOutPlan {
  readonly inboxes: readonly string[];
  readonly deliveries: ReadonlyArray<{ readonly subscriptionId: number; readonly channel: DeliveryChannel; readonly url: string; readonly secret: string }>;
}

/** How an attempt ends in the database. */
export type AttemptRecord =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'failed'; readonly error: string; readonly nextAttemptAt: number }
  | { readonly kind: 'dead'; readonly error: string };

/**
 * Where the dispatcher keeps its work: the SQLite tables database of one process, or PostgreSQL shared by the
 * nodes of a cluster (which then share the work: each row and each attempt is taken by one node at a time).
 */
export interface DispatchBackend {
  /** Rows not yet fanned out, oldest first, without taking them (for the address lookups before a fan-out). */
  undispatched(limit: number): Promise<readonly OutboxRow[]>;
  topic(name: string): Promise<TopicDescription | undefined>;
  fanOutSubscriptionsOf(topic: string): Promise<readonly SubscriptionRow[]>;
  /**
   * In one transaction: takes up to `limit` rows not yet fanned out, and fans out each in order (`fanOutPlan`,
   * the mirrors' pending rows, marked dispatched) until one has no entry in `addresses`. Returns how many rows it
   * took and the customers whose inbox grew.
   */
  fanOut(limit: number, addresses: ReadonlyMap<number, string | undefined>, mirrorStreams: (topic: string) => readonly string[], now: number): Promise<{ taken: number; touched: readonly string[] }>;
  /** Up to `limit` deliveries due at `now`, none of `inflight`; they are this dispatcher's until recorded or released. */
  due(now: number, limit: number, inflight: ReadonlySet<number>): Promise<readonly DueDelivery[]>;
  /** The earliest next attempt of any pending delivery, or undefined when none is pending. */
  nextDueAt(): Promise<number | undefined>;
  /** Records the attempt; false when the delivery was no longer this dispatcher's to record (another node took it over). */
  record(delivery: DueDelivery, outcome: AttemptRecord, subscriptionGone: boolean, now: number): Promise<boolean>;
  /** An attempt cut short by a stop: the delivery is free for the next dispatcher at once. */
  release(delivery: DueDelivery): Promise<void>;
}

/** The customer a message of an inbox topic names in the topic's customer field, if any. */
export function customerOf(topic: TopicDescription | undefined, message: string): string | undefined {
  const named = topic?.kind === 'inbox' && topic.customerField ? (JSON.parse(message) as Record<string, unknown>)[topic.customerField] : undefined;
  return typeof named === 'string' && named !== '' ? named : undefined;
}

/**
 * Where one message goes: the customer's inbox on an inbox topic, every inbox, webhook and email subscription of
 * the topic, and the push subscriptions of its customer only. An email subscription without an address of its
 * own mails the customer's `address` (none: no mail).
 */
export function fanOutPlan(
  customerId: string | undefined,
  subscriptions: readonly SubscriptionRow[],
  pushSubscriptions: readonly SubscriptionRow[],
  address: string | undefined,
): FanOutPlan {
  const inboxes: string[] = customerId !== undefined ? [customerId] : [];
  const deliveries: Array<FanOutPlan['deliveries'][number]> = [];
  for (const sub of subscriptions) {
    if (sub.protocol === 'inbox' && sub.customer_id !== null) inboxes.push(sub.customer_id);
    else if (sub.protocol === 'webhook' && sub.url !== null && sub.secret !== null) deliveries.push({ subscriptionId: sub.id, channel: 'webhook', url: sub.url, secret: sub.secret });
    else if (sub.protocol === 'email') {
      const to = sub.url ?? address;
      if (to) deliveries.push({ subscriptionId: sub.id, channel: 'email', url: `mailto:${to}`, secret: '' });
    }
  }
  for (const sub of pushSubscriptions) deliveries.push({ subscriptionId: sub.id, channel: 'webpush', url: sub.url!, secret: sub.secret! });
  return { inboxes, deliveries };
}

export interface DispatcherDeps extends ChannelDeps {
  readonly backend: DispatchBackend;
  readonly hub: InboxHub;
  /** Present when some topics are mirrored to streams. */
  readonly mirror: MirrorRelay | undefined;
  readonly logger: Logger;
  readonly pollIntervalMs: number;
  readonly concurrency: number;
  readonly random: () => number;
  /** The address of a customer, for email subscriptions without one of their own (looked up before the fan-out). */
  readonly addressOf: ((customerId: string) => Promise<string | undefined> | string | undefined) | undefined;
  /**
   * Other nodes share the work: a row this node cannot address (an email subscription without an address, and no
   * `addressOf` here) is left for a node that can, rather than fanned out without its mail.
   */
  readonly shared?: boolean;
}

/** The dispatcher (and the mirror relay, when topics are mirrored) of notifications opened with `options`. */
export function createDispatcher(
  options: Omit<NotifyOptions, 'tables'>,
  deps: {
    readonly backend: DispatchBackend;
    readonly mirrorBackend: MirrorBackend;
    readonly hub: InboxHub;
    readonly logger: Logger;
    readonly retry: RetryPolicy;
    readonly pollIntervalMs: number;
    readonly now: () => number;
    readonly shared?: boolean;
  },
): Dispatcher {
  const { logger, retry, now } = deps;
  const random = options.random ?? Math.random;
  const mirror =
    options.mirror && options.mirror.routes.length > 0
      ? new MirrorRelay({ backend: deps.mirrorBackend, routes: resolveMirrorRoutes(options.mirror), append: options.mirror.append, logger, retry, random, now })
      : undefined;
  return new Dispatcher({
    backend: deps.backend,
    hub: deps.hub,
    mirror,
    logger,
    retry,
    pollIntervalMs: deps.pollIntervalMs,
    concurrency: positiveInteger(options.concurrency ?? 8, 'concurrency'),
    fetch: options.fetch ?? globalThis.fetch,
    random,
    now,
    webPush: options.webPush,
    email: options.email,
    render: options.render ?? renderPlainly,
    addressOf: options.email?.addressOf,
    ...(deps.shared !== undefined ? { shared: deps.shared } : {}),
  });
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
    const { logger, backend, pollIntervalMs, now } = this.#deps;
    try {
      await this.#fanOut();
      await this.#launchDue();
      this.#launchMirror();
    } catch (err) {
      logger.error('dispatch pass failed; retrying at the next poll', { err });
    }
    if (!this.#running) return;
    let delay = pollIntervalMs;
    try {
      const next = await backend.nextDueAt();
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
    const { backend, hub, mirror, now } = this.#deps;
    for (;;) {
      if (!this.#running) return;
      // Addresses are looked up first, outside the transaction (the customers may live in another store); a row
      // whose customer was not looked up (it became due meanwhile) waits for the next page.
      const addresses = await this.#addressesFor(await backend.undispatched(FAN_OUT_PAGE));
      if (!this.#running) return;
      const { taken, touched } = await backend.fanOut(FAN_OUT_PAGE, addresses, (topic) => mirror?.streamsOf(topic) ?? [], now());
      for (const customerId of touched) hub.notify(customerId);
      if (taken < FAN_OUT_PAGE) return;
    }
  }

  /**
   * The email address of each row's customer, by row id (undefined: no address), for rows of topics with an email
   * subscription that has no address of its own; every other row maps to undefined.
   */
  async #addressesFor(rows: readonly OutboxRow[]): Promise<Map<number, string | undefined>> {
    const { backend, addressOf } = this.#deps;
    const found = new Map<number, string | undefined>();
    const byCustomer = new Map<string, Promise<string | undefined> | string | undefined>();
    for (const row of rows) {
      const needsAddress = (await backend.fanOutSubscriptionsOf(row.topic)).some((s) => s.protocol === 'email' && s.url === null);
      if (!needsAddress || !addressOf) {
        if (!needsAddress || !this.#deps.shared) found.set(row.id, undefined);
        continue;
      }
      found.set(row.id, undefined);
      const customerId = customerOf(await backend.topic(row.topic), row.message);
      if (customerId === undefined) continue;
      if (!byCustomer.has(customerId)) byCustomer.set(customerId, addressOf(customerId));
      found.set(row.id, await byCustomer.get(customerId));
    }
    return found;
  }

  async #launchDue(): Promise<void> {
    const { backend, concurrency, now } = this.#deps;
    const free = concurrency - this.#inflight.size;
    if (free <= 0) return;
    const due = await backend.due(now(), free, new Set(this.#inflight.keys()));
    for (const delivery of due) {
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
    const { backend, retry, logger, now, random } = this.#deps;
    const stopping = this.#stopping.signal;
    let outcome: SendOutcome;
    try {
      outcome = await send(delivery, this.#deps, stopping);
    } catch (err) {
      // Stopped mid-send: the attempt does not count; the delivery stays pending for the next start.
      if (stopping.aborted) return void (await backend.release(delivery).catch(() => undefined));
      outcome = { error: err instanceof Error ? err.message : String(err) };
    }
    const { error } = outcome;
    const t = now();
    const attempts = delivery.attempts + 1;
    const dead = error !== undefined && (attempts >= retry.maxAttempts || outcome.permanent === true);
    // A webhook's URL is the operator's; an email address or a push endpoint is a customer's, named by its subscription.
    const fields = { deliveryId: delivery.id, channel: delivery.channel, subscriptionId: delivery.subscription_id, ...(delivery.channel === 'webhook' ? { url: delivery.url } : {}), idempotencyKey: delivery.idempotency_key, attempts };
    const record: AttemptRecord =
      error === undefined ? { kind: 'delivered' } : dead ? { kind: 'dead', error } : { kind: 'failed', error, nextAttemptAt: t + backoffDelayMs(attempts, retry.baseDelayMs, retry.maxDelayMs, random) };
    try {
      if (!(await backend.record(delivery, record, outcome.subscriptionGone === true, t))) {
        logger.warn(`${delivery.channel} attempt not recorded: the delivery was taken over by another node after its claim expired`, { ...fields, ...(error !== undefined ? { error } : {}) });
        return;
      }
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

