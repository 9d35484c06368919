/**
 * The SQL of notifications: topics, subscriptions, the outbox and the inbox. The dispatcher's delivery
 * rows live in `deliveries.ts`. Every method runs on the tables connection, so inside a tables transaction
 * it is part of that transaction.
 */
import type Database from 'better-sqlite3';
import { TollstreamError } from '../core/errors.ts';
import type { JsonObject } from '../tables/index.ts';
import type { InboxEntry, ListInboxOptions, Subscription, SubscriptionProtocol, TopicDescription, TopicKind } from './types.ts';

interface TopicRow {
  name: string;
  kind: TopicKind;
  customer_field: string | null;
  created_at: number;
}

export interface SubscriptionRow {
  id: number;
  topic: string;
  protocol: SubscriptionProtocol;
  customer_id: string | null;
  url: string | null;
  secret: string | null;
  created_at: number;
}

export interface OutboxRow {
  id: number;
  idempotency_key: string;
  topic: string;
  message: string;
  created_at: number;
}

export interface InboxRow {
  id: number;
  customer_id: string;
  topic: string;
  message: string;
  idempotency_key: string;
  created_at: number;
  read_at: number | null;
}

export class NotifyStore {
  readonly #db: Database.Database;
  readonly #topics = new Map<string, TopicDescription>();
  readonly #stmts;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#stmts = {
      topic: db.prepare<[string], TopicRow>('SELECT * FROM notify_topics WHERE name = ?'),
      insertOutbox: db.prepare<[string, string, string, number]>(
        'INSERT INTO notify_outbox (idempotency_key, topic, message, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING',
      ),
      outboxIdByKey: db.prepare<[string], number>('SELECT id FROM notify_outbox WHERE idempotency_key = ?').pluck(),
      undispatched: db.prepare<[number], OutboxRow>(
        'SELECT id, idempotency_key, topic, message, created_at FROM notify_outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT ?',
      ),
      markDispatched: db.prepare<[number, number]>('UPDATE notify_outbox SET dispatched_at = ? WHERE id = ?'),
      subscriptionsOf: db.prepare<[string], SubscriptionRow>('SELECT * FROM notify_subscriptions WHERE topic = ? ORDER BY id'),
      fanOutSubscriptionsOf: db.prepare<[string], SubscriptionRow>("SELECT * FROM notify_subscriptions WHERE topic = ? AND protocol <> 'webpush' ORDER BY id"),
      pushSubscriptionsOf: db.prepare<[string, string], SubscriptionRow>(
        "SELECT * FROM notify_subscriptions WHERE topic = ? AND customer_id = ? AND protocol = 'webpush' ORDER BY id",
      ),
      insertInbox: db.prepare<[string, number, string, string, string, number]>(
        `INSERT INTO notify_inbox (customer_id, outbox_id, topic, message, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (customer_id, outbox_id) DO NOTHING`,
      ),
      inboxAfter: db.prepare<[string, number, number], InboxRow>('SELECT * FROM notify_inbox WHERE customer_id = ? AND id > ? ORDER BY id LIMIT ?'),
      inboxBefore: db.prepare<[string, number, number, number], InboxRow>(
        'SELECT * FROM notify_inbox WHERE customer_id = ? AND id > ? AND id < ? ORDER BY id DESC LIMIT ?',
      ),
      markRead: db.prepare<[number, string, number]>('UPDATE notify_inbox SET read_at = ? WHERE customer_id = ? AND id = ? AND read_at IS NULL'),
      unread: db.prepare<[string], number>('SELECT count(*) FROM notify_inbox WHERE customer_id = ? AND read_at IS NULL').pluck(),
    };
  }

  createTopic(name: string, kind: TopicKind, customerField: string | undefined, now: number): TopicDescription {
    this.#db
      .prepare('INSERT INTO notify_topics (name, kind, customer_field, created_at) VALUES (?, ?, ?, ?)')
      .run(name, kind, customerField ?? null, now);
    return this.topic(name) as TopicDescription;
  }

  topic(name: string): TopicDescription | undefined {
    const cached = this.#topics.get(name);
    if (cached) return cached;
    const row = this.#stmts.topic.get(name);
    if (!row) return undefined;
    const topic: TopicDescription = {
      name: row.name,
      kind: row.kind,
      ...(row.customer_field !== null ? { customerField: row.customer_field } : {}),
      createdAt: row.created_at,
    };
    this.#topics.set(name, topic);
    return topic;
  }

  listTopics(): TopicDescription[] {
    return this.#db
      .prepare<[], { name: string }>('SELECT name FROM notify_topics ORDER BY name')
      .all()
      .map((r) => this.topic(r.name) as TopicDescription);
  }

  insertSubscription(topic: string, protocol: SubscriptionProtocol, customerId: string | null, url: string | null, secret: string | null, now: number): Subscription {
    const id = Number(
      this.#db
        .prepare('INSERT INTO notify_subscriptions (topic, protocol, customer_id, url, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(topic, protocol, customerId, url, secret, now).lastInsertRowid,
    );
    return toSubscription({ id, topic, protocol, customer_id: customerId, url, secret, created_at: now });
  }

  deleteSubscription(id: number): boolean {
    return this.#db.prepare('DELETE FROM notify_subscriptions WHERE id = ?').run(id).changes > 0;
  }

  /** The customer's push subscription of `topic` for `endpoint`. */
  pushSubscription(topic: string, customerId: string, endpoint: string): SubscriptionRow | undefined {
    return this.#db
      .prepare<[string, string, string], SubscriptionRow>("SELECT * FROM notify_subscriptions WHERE topic = ? AND customer_id = ? AND protocol = 'webpush' AND url = ?")
      .get(topic, customerId, endpoint);
  }

  /** The webhook subscription of `topic` for `url`. */
  webhookSubscription(topic: string, url: string): SubscriptionRow | undefined {
    return this.#db
      .prepare<[string, string], SubscriptionRow>("SELECT * FROM notify_subscriptions WHERE topic = ? AND protocol = 'webhook' AND url = ?")
      .get(topic, url);
  }

  subscriptionsOf(topic: string): SubscriptionRow[] {
    return this.#stmts.subscriptionsOf.all(topic);
  }

  /** What fan-out sends every message of the topic to: all but push subscriptions, which are per customer. */
  fanOutSubscriptionsOf(topic: string): SubscriptionRow[] {
    return this.#stmts.fanOutSubscriptionsOf.all(topic);
  }

  pushSubscriptionsOf(topic: string, customerId: string): SubscriptionRow[] {
    return this.#stmts.pushSubscriptionsOf.all(topic, customerId);
  }

  /** Returns the outbox id and whether the key was already there. */
  insertOutbox(key: string, topic: string, message: string, now: number): { outboxId: number; duplicate: boolean } {
    const inserted = this.#stmts.insertOutbox.run(key, topic, message, now);
    if (inserted.changes > 0) return { outboxId: Number(inserted.lastInsertRowid), duplicate: false };
    return { outboxId: this.#stmts.outboxIdByKey.get(key) as number, duplicate: true };
  }

  undispatched(limit: number): OutboxRow[] {
    return this.#stmts.undispatched.all(limit);
  }

  markDispatched(id: number, now: number): void {
    this.#stmts.markDispatched.run(now, id);
  }

  /** True when the entry was new (a repeated fan-out of the same outbox row adds nothing). */
  insertInbox(customerId: string, outbox: OutboxRow, now: number): boolean {
    return this.#stmts.insertInbox.run(customerId, outbox.id, outbox.topic, outbox.message, outbox.idempotency_key, now).changes > 0;
  }

  listInbox(customerId: string, options: ListInboxOptions): InboxEntry[] {
    const limit = options.limit ?? 50;
    const after = options.after ?? 0;
    const rows =
      options.order === 'desc'
        ? this.#stmts.inboxBefore.all(customerId, after, options.before ?? Number.MAX_SAFE_INTEGER, limit)
        : options.before === undefined
          ? this.#stmts.inboxAfter.all(customerId, after, limit)
          : this.#db
              .prepare<[string, number, number, number], InboxRow>('SELECT * FROM notify_inbox WHERE customer_id = ? AND id > ? AND id < ? ORDER BY id LIMIT ?')
              .all(customerId, after, options.before, limit);
    return rows.map(toInboxEntry);
  }

  markRead(customerId: string, ids: readonly number[], now: number): number {
    let changed = 0;
    for (const id of ids) changed += this.#stmts.markRead.run(now, customerId, id).changes;
    return changed;
  }

  counts(): { outboxPending: number } {
    return { outboxPending: this.#db.prepare<[], number>('SELECT count(*) FROM notify_outbox WHERE dispatched_at IS NULL').pluck().get() as number };
  }

  unreadCount(customerId: string): number {
    return this.#stmts.unread.get(customerId) as number;
  }
}

export function toSubscription(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    topic: row.topic,
    protocol: row.protocol,
    ...(row.customer_id !== null ? { customerId: row.customer_id } : {}),
    ...(row.url !== null ? { url: row.url } : {}),
    createdAt: row.created_at,
  };
}

export function toInboxEntry(row: InboxRow): InboxEntry {
  return {
    id: row.id,
    customerId: row.customer_id,
    topic: row.topic,
    message: JSON.parse(row.message) as JsonObject,
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    read: row.read_at !== null,
  };
}
