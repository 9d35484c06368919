/**
 * The contract of notifications: topics, subscriptions (per-customer inbox, signed webhooks), a
 * transactional outbox, a dispatcher, and the inbox API the HTTP layer serves.
 */
import type { Logger } from '../core/logger.ts';
import type { JsonObject, Tables } from '../tables/index.ts';
import type { VapidKeys } from './webpush.ts';
import type { SmtpSecurity } from './smtp.ts';

/**
 * `standard`: delivered to the topic's subscriptions. `inbox`: additionally delivered to the inbox of the
 * customer named by the message's `customerField` (every message must name one).
 */
export type TopicKind = 'standard' | 'inbox';

export interface TopicDescription {
  readonly name: string;
  readonly kind: TopicKind;
  /** For `inbox` topics: the top-level message attribute holding the customer id. */
  readonly customerField?: string;
  readonly createdAt: number;
}

export type SubscriptionSpec =
  /** Every message of the topic lands in this customer's inbox. */
  | { readonly protocol: 'inbox'; readonly customerId: string }
  /** Every message is POSTed to `url`, signed with `secret` (a `whsec_<base64>` secret is used as its decoded bytes). */
  | { readonly protocol: 'webhook'; readonly url: string; readonly secret: string }
  /**
   * Messages of this inbox topic that name this customer are pushed to the browser subscription (Web Push,
   * encrypted for `p256dh`/`auth`, signed with the VAPID keys of `webPush`). A push service that answers 404
   * or 410 has dropped the subscription: it is removed.
   */
  | { readonly protocol: 'webpush'; readonly customerId: string; readonly endpoint: string; readonly p256dh: string; readonly auth: string }
  /**
   * Every message is mailed through `email`'s SMTP server: to `address`, or, without one, on an inbox topic, to
   * the address `email.addressOf` gives for the message's customer (messages of customers without one are skipped).
   */
  | { readonly protocol: 'email'; readonly address?: string };

export type SubscriptionProtocol = SubscriptionSpec['protocol'];

/** How a delivery is sent: the subscription protocols that leave the process. */
export type DeliveryChannel = 'webhook' | 'webpush' | 'email';

export interface Subscription {
  readonly id: number;
  readonly topic: string;
  readonly protocol: SubscriptionProtocol;
  readonly customerId?: string;
  readonly url?: string;
  readonly createdAt: number;
}

export interface PublishOptions {
  /**
   * Identifies the notification: a second publish with the same key is a no-op, so repeating a whole
   * transaction (after a crash, on redelivery) never notifies twice. Sent as the `webhook-id` header.
   * 1 to 256 visible ASCII characters, e.g. `spend-alert:c-17:2026-11:5000`.
   */
  readonly idempotencyKey: string;
}

export interface PublishResult {
  readonly outboxId: number;
  /** True when the key was already published (nothing was written). */
  readonly duplicate: boolean;
}

export interface InboxEntry {
  /** Increases with every entry of the database; the SSE event id. */
  readonly id: number;
  readonly customerId: string;
  readonly topic: string;
  readonly message: JsonObject;
  readonly idempotencyKey: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly read: boolean;
}

export interface ListInboxOptions {
  /** Only entries with a larger id. */
  readonly after?: number;
  /** Only entries with a smaller id. */
  readonly before?: number;
  /** 1 to 500. @default 50 */
  readonly limit?: number;
  /** @default 'asc' */
  readonly order?: 'asc' | 'desc';
}

export interface InboxEventsOptions {
  /** Resume after this entry id (the SSE `Last-Event-ID`); entries up to it are not replayed. @default 0 */
  readonly lastEventId?: number | string;
  /** Ends the iteration (quietly) when aborted. */
  readonly signal?: AbortSignal;
}

export interface DeadLetter {
  readonly id: number;
  readonly deliveryId: number;
  readonly subscriptionId: number;
  readonly topic: string;
  readonly channel: DeliveryChannel;
  /** The webhook URL, the push endpoint, or `mailto:<address>`. */
  readonly url: string;
  readonly idempotencyKey: string;
  readonly message: JsonObject;
  readonly attempts: number;
  readonly lastError: string;
  readonly createdAt: number;
}

export interface NotifyStats {
  /** Outbox rows committed but not yet fanned out. */
  readonly outboxPending: number;
  /** Webhook, push and email deliveries waiting for their next attempt (or in flight). */
  readonly deliveriesPending: number;
  readonly deadLetters: number;
  /** Messages fanned out to a mirrored topic and not yet appended to their stream. */
  readonly mirrorsPending: number;
}

export interface RetryPolicy {
  /** Attempts per delivery (webhook, push or email), the first included, before it is dead-lettered; 1 to 100. @default 8 */
  readonly maxAttempts: number;
  /** The backoff ceiling after the first failure, in ms, 1 to 300000; it doubles per failure. @default 1000 */
  readonly baseDelayMs: number;
  /** The backoff ceiling never exceeds this, in ms. @default 300000 (5 minutes) */
  readonly maxDelayMs: number;
  /** One attempt fails if the receiver has not answered within this, in ms. @default 10000 */
  readonly timeoutMs: number;
}

/** Copies every message of `topic` to the stream `stream`, once per idempotency key. */
export interface MirrorRoute {
  readonly topic: string;
  readonly stream: string;
  /**
   * The top-level property of the appended JSON record that carries the message's idempotency key (it
   * replaces a message property of that name), e.g. `breach_id` for a stream deduplicated on that field.
   * @default 'idempotency_key'
   */
  readonly keyField?: string;
}

/** A record the mirror hands to `append`: the shape of a stream log record. */
export interface MirrorRecord {
  /** UTF-8 JSON: the message's properties plus `keyField` = the idempotency key. */
  readonly data: Uint8Array;
  /** The customer id of an inbox topic's message, else the idempotency key. */
  readonly partitionKey: string;
  /** The message's idempotency key, for streams deduplicated by producer key. */
  readonly idempotencyKey: string;
}

/** The outcome of one record, in the order given; `ok: false` records are appended again later. */
export interface MirrorAppendResult {
  readonly ok: boolean;
  readonly errorMessage?: string;
}

/**
 * Appends records to a stream and resolves once they are durable (a `StreamLog.append` fits). It may be
 * called again with records it already stored (a crash between the append and its bookkeeping), so the
 * stream should drop repeats: deduplicate on `keyField` or on the producer key.
 */
export type MirrorAppend = (stream: string, records: readonly MirrorRecord[]) => Promise<readonly MirrorAppendResult[]>;

export interface MirrorOptions {
  readonly routes: readonly MirrorRoute[];
  readonly append: MirrorAppend;
}

export interface NotifyOptions {
  /** Notifications keep their state in this database, so outbox rows commit with table writes. */
  readonly tables: Tables;
  /**
   * Copy the messages of some topics to streams as the dispatcher fans them out (at least once, with the
   * idempotency key in every record so the stream can drop repeats). @default no mirrors
   */
  readonly mirror?: MirrorOptions;
  readonly logger?: Logger;
  readonly retry?: Partial<RetryPolicy>;
  /** How often the dispatcher looks for work written by other processes, in ms. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Sends (webhook, push, email) in flight at once. @default 8 */
  readonly concurrency?: number;
  /** Sends `webpush` subscriptions' messages; without it their deliveries fail (and are retried, then dead-lettered). */
  readonly webPush?: WebPushOptions;
  /** Sends `email` subscriptions' messages; without it they fail like push without `webPush`. */
  readonly email?: EmailOptions;
  /**
   * The human words of a message, for push notifications and emails (webhooks get the message itself).
   * @default the topic as the title and the message's JSON as the text
   */
  readonly render?: (topic: string, message: JsonObject) => RenderedMessage;
  /** Injected for tests. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Uniform in [0, 1), for the backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface RenderedMessage {
  /** One line: the push notification's title, the email's subject. */
  readonly title: string;
  /** Plain text: the notification's body, the email's text. */
  readonly text: string;
}

export interface WebPushOptions {
  /**
   * The application server's VAPID key pair (`loadOrCreateVapidKeys`): required on SQLite. On PostgreSQL, omitted:
   * the pair the nodes share, made once in the notifications' schema by the first node that opens it, so every
   * node signs what browsers subscribed to through any node; given: this node signs with it (an operator who gives
   * the nodes different pairs has pushes to browsers subscribed through another node refused).
   */
  readonly keys?: VapidKeys;
  /**
   * On PostgreSQL without `keys`: the pair to store when the schema holds none yet (a node's `vapid.json` from before
   * the nodes shared one, so browsers subscribed with it keep getting their pushes). @default a new pair
   */
  readonly offerKeys?: VapidKeys;
  /** The operator's contact for push services, `mailto:` or `https:` (the JWT's `sub`). */
  readonly subject: string;
  /** How long a push service keeps a message for an offline browser, in seconds. @default 86400 */
  readonly ttlSeconds?: number;
}

export interface EmailOptions {
  /** The SMTP server that relays the mail. */
  readonly host: string;
  readonly port: number;
  /** The sender address, `alerts@example.com` or `ABC Tolls <alerts@example.com>`. */
  readonly from: string;
  /** The address of a customer, for subscriptions without one of their own. */
  readonly addressOf?: (customerId: string) => Promise<string | undefined> | string | undefined;
  /** The name this host gives in EHLO. @default os.hostname() */
  readonly helloName?: string;
  /** TLS and login towards the relay (`smtpSecurity(...)`). @default plain SMTP, no login */
  readonly security?: SmtpSecurity;
  /**
   * The link that stops a message's recipient getting more of these mails (its `List-Unsubscribe` header and the
   * last line of its text); undefined, none.
   */
  readonly unsubscribeUrl?: (topic: string, message: JsonObject) => string | undefined;
}

/** A value now (notifications on SQLite answer at once) or later (on PostgreSQL); callers await it. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Notifications whatever keeps them: the SQLite ones of a single node (`openNotify`, which answers at once) and
 * the PostgreSQL ones the nodes of a cluster share (`openPostgresNotify`). Callers await every answer.
 */
export interface Notifications {
  createTopic(name: string, options?: { readonly kind?: TopicKind; readonly customerField?: string; readonly ifNotExists?: boolean }): Awaitable<TopicDescription>;
  listTopics(): Awaitable<readonly TopicDescription[]>;
  describeTopic(name: string): Awaitable<TopicDescription>;
  subscribe(topic: string, spec: SubscriptionSpec): Awaitable<Subscription>;
  /** Stops future fan-out to this subscription; deliveries already created still run. */
  unsubscribe(subscriptionId: number): Awaitable<void>;
  listSubscriptions(topic: string): Awaitable<readonly Subscription[]>;
  /** Publishes in its own transaction; inside a tables transaction use `tx.publish`. */
  publish(topic: string, message: JsonObject, options: PublishOptions): Awaitable<PublishResult>;

  /** Starts the dispatcher (fan-out of the outbox, webhook delivery with retries). Idempotent. */
  start(): void;
  /** Stops the dispatcher; in-flight webhook requests are aborted and stay pending for the next start. */
  stop(): Promise<void>;
  /**
   * Looks for new outbox rows now rather than at the next poll: for rows committed on another connection to
   * the same database (a function's worker thread), which this process's commits do not announce.
   */
  wake(): void;

  listInbox(customerId: string, options?: ListInboxOptions): Awaitable<readonly InboxEntry[]>;
  /** Marks these entries of this customer read; returns how many changed. */
  markRead(customerId: string, ids: readonly number[]): Awaitable<number>;
  unreadCount(customerId: string): Awaitable<number>;
  /** Replays entries after `lastEventId`, then yields new ones as they arrive, with no gap and no repeat. */
  inboxEvents(customerId: string, options?: InboxEventsOptions): AsyncIterable<InboxEntry>;

  /**
   * Removes outbox rows created before `before` (ms since the epoch) whose fan-out and webhook deliveries
   * are done, and their delivered deliveries. Inbox entries and dead letters stay. A key pruned this way is
   * forgotten: the idempotency window is the retention you prune with. Returns how many rows went.
   */
  prune(options: { readonly before: number }): Awaitable<{ readonly outbox: number; readonly deliveries: number }>;

  /** Backlog gauges for metrics and the console. */
  stats(): Awaitable<NotifyStats>;

  listDeadLetters(options?: { readonly after?: number; readonly limit?: number }): Awaitable<readonly DeadLetter[]>;
  /** The subscription of this customer to `topic` for a push endpoint, if any (one per endpoint). */
  pushSubscription(topic: string, customerId: string, endpoint: string): Awaitable<Subscription | undefined>;
  /** Queues a dead-lettered delivery again with a fresh attempt budget; the record is removed. */
  redriveDeadLetter(id: number): Awaitable<void>;
  /** The VAPID public key (base64url) these notifications sign Web Push with; undefined without Web Push. */
  webPushPublicKey(): string | undefined;
}

/** Notifications in a SQLite tables database (`openNotify`): every answer is immediate. */
export interface Notify extends Notifications {
  createTopic(name: string, options?: { readonly kind?: TopicKind; readonly customerField?: string; readonly ifNotExists?: boolean }): TopicDescription;
  listTopics(): readonly TopicDescription[];
  describeTopic(name: string): TopicDescription;
  subscribe(topic: string, spec: SubscriptionSpec): Subscription;
  unsubscribe(subscriptionId: number): void;
  listSubscriptions(topic: string): readonly Subscription[];
  publish(topic: string, message: JsonObject, options: PublishOptions): PublishResult;
  listInbox(customerId: string, options?: ListInboxOptions): readonly InboxEntry[];
  markRead(customerId: string, ids: readonly number[]): number;
  unreadCount(customerId: string): number;
  prune(options: { readonly before: number }): { readonly outbox: number; readonly deliveries: number };
  stats(): NotifyStats;
  listDeadLetters(options?: { readonly after?: number; readonly limit?: number }): readonly DeadLetter[];
  pushSubscription(topic: string, customerId: string, endpoint: string): Subscription | undefined;
  redriveDeadLetter(id: number): void;
}

declare module '../tables/types.ts' {
  interface TableTx {
    /**
     * Writes a notification to the outbox in this transaction: it exists exactly when the transaction
     * commits, once per idempotency key. Available once `openNotify({ tables })` has been called.
     */
    publish(topic: string, message: JsonObject, options: PublishOptions): PublishResult;
  }
  interface StoreTx {
    /**
     * The same through the asynchronous door. On SQLite it writes the outbox of `openNotify({ tables })`; on
     * PostgreSQL (after `publishToPostgresNotify`) the outbox of the notifications the nodes share, in the same
     * database, in this transaction.
     */
    publish(topic: string, message: JsonObject, options: PublishOptions): Promise<PublishResult>;
  }
}
