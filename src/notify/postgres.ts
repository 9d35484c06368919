/**
 * `openPostgresNotify`: notifications in a PostgreSQL schema that the nodes of a cluster share. Every node
 * serves every customer's inbox and feed, takes subscriptions, and shares the work: a page of the outbox is
 * fanned out by the node that claims it (FOR UPDATE SKIP LOCKED), a delivery is sent by one node at a time
 * under a claim with an expiry (a node that dies mid-delivery leaves it to another once the claim expires; the
 * same `webhook-id` is sent again), and the mirror's pending rows are held by the node appending them.
 *
 * Wake-ups travel through LISTEN/NOTIFY on one channel per schema: `work` (new outbox rows or deliveries) wakes
 * the dispatchers, `inbox:<customer>` the feeds of that customer on every node. Polling covers a listener that
 * was disconnected.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { redactUrl } from '../core/connection-url.ts';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import type { JsonObject, TableStore } from '../tables/index.ts';
import { driverError, postgresTablesInternals, type PostgresTxHandle } from '../tables/internal.ts';
import {
  assertCustomerId,
  checkDeadLetterLimit,
  checkListInbox,
  checkPruneBefore,
  checkPublish,
  checkReadIds,
  checkSubscription,
  checkTopic,
  deadLetterNotFound,
  existingTopic,
  positiveInteger,
  resolveRetry,
  subscriptionNotFound,
  topicNotFound,
} from './checks.ts';
import { toDeadLetter, type DeadLetterRow } from './deliveries.ts';
import { createDispatcher } from './dispatcher.ts';
import { InboxHub, inboxEvents } from './feed.ts';
import { postgresDispatchBackend, postgresMirrorBackend, type Query } from './postgres-backend.ts';
import { migrateNotifyPostgres, NOTIFY_POSTGRES_SCHEMA } from './postgres-schema.ts';
import { toInboxEntry, toSubscription, type InboxRow, type SubscriptionRow } from './store.ts';
import { vapidJwk, vapidKeysFromJwk, type VapidKeys } from './webpush.ts';
import type { DeliveryChannel, InboxEntry, ListInboxOptions, Notifications, NotifyOptions, NotifyStats, PublishOptions, PublishResult, TopicDescription } from './types.ts';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresNotifyOptions extends Omit<NotifyOptions, 'tables'> {
  /** `postgres://user:password@host:port/database` (a cluster's `cluster.postgresUrl`). */
  readonly connectionString: string;
  /** The schema the nodes share; created when missing. @default 'tollstream_notify' */
  readonly schema?: string;
  /** Names this node in the claims of the deliveries it sends (for operators). @default the host name */
  readonly nodeName?: string;
  /**
   * How long a node's claim on a delivery lasts, in ms: another node sends it again only after this, so it must
   * outlast an attempt. @default 2 * retry.timeoutMs + 10000
   */
  readonly claimMs?: number;
  /** Most connections of this node. @default 4 */
  readonly maxConnections?: number;
}

export interface PostgresNotify extends Notifications {
  readonly schema: string;
  /** Stops the dispatcher, ends every inbox feed of this node, and closes its connections. */
  close(): Promise<void>;
}

/** The LISTEN/NOTIFY channel of a schema (at most 63 bytes). */
function channelOf(schema: string): string {
  return `ts_notify_${schema}`.slice(0, 63);
}

interface TopicRow {
  name: string;
  kind: TopicDescription['kind'];
  customer_field: string | null;
  created_at: string | number;
}

function toTopic(row: TopicRow): TopicDescription {
  return { name: row.name, kind: row.kind, ...(row.customer_field !== null ? { customerField: row.customer_field } : {}), createdAt: Number(row.created_at) };
}

/** Topics never change once created, so each is read once per process. */
function topicReader(schema: string): (query: Query, name: string) => Promise<TopicDescription | undefined> {
  const known = new Map<string, TopicDescription>();
  return async (query, name) => {
    const cached = known.get(name);
    if (cached) return cached;
    const row = (await query<TopicRow>(`SELECT * FROM "${schema}".notify_topics WHERE name = $1`, [name])).rows[0];
    if (!row) return undefined;
    const topic = toTopic(row);
    known.set(name, topic);
    return topic;
  };
}

/** Writes a notification to the outbox of `schema` in the transaction of `query`: once per idempotency key. */
async function insertOutbox(
  query: Query,
  schema: string,
  topicOf: (query: Query, name: string) => Promise<TopicDescription | undefined>,
  topicName: string,
  message: JsonObject,
  options: PublishOptions,
  now: number,
): Promise<PublishResult> {
  const topic = await topicOf(query, topicName);
  if (!topic) throw topicNotFound(topicName);
  const { key, text } = checkPublish(topic, message, options);
  const inserted = await query<{ id: string | number }>(
    `INSERT INTO "${schema}".notify_outbox (idempotency_key, topic, message, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
    [key, topicName, text, now],
  );
  const id = inserted.rows[0]?.id;
  if (id !== undefined) {
    // Delivered at commit: every node's dispatcher looks at once.
    await query('SELECT pg_notify($1, $2)', [channelOf(schema), 'work']);
    return { outboxId: Number(id), duplicate: false };
  }
  const existing = await query<{ id: string | number }>(`SELECT id FROM "${schema}".notify_outbox WHERE idempotency_key = $1`, [key]);
  return { outboxId: Number(existing.rows[0]?.id), duplicate: true };
}

/**
 * Gives the transactions of tables on PostgreSQL `tx.publish`, writing into the outbox of the notifications in
 * `schema` of the same database, in the caller's transaction: the notification commits exactly with the state
 * change, and whichever node claims it fans it out. Needs no notifications open in this process (a function's
 * worker thread publishes this way).
 */
export function publishToPostgresNotify(store: TableStore, options: { readonly schema?: string } = {}): void {
  const schema = checkSchema(options.schema ?? NOTIFY_POSTGRES_SCHEMA);
  const internals = postgresTablesInternals(store);
  const topicOf = topicReader(schema);
  const publishIn = (tx: PostgresTxHandle, topic: string, message: JsonObject, publishOptions: PublishOptions): Promise<PublishResult> =>
    insertOutbox((sql, values) => tx.query(sql, values), schema, topicOf, topic, message, publishOptions, internals.now());
  internals.decorate('publish', publishIn as (tx: PostgresTxHandle, ...args: never[]) => Promise<unknown>);
}

function checkSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
    throw new TollstreamError('CONFIG_INVALID', `the notifications schema '${schema}' must be lower-case letters, digits and _ (starting with a letter or _, not pg_)`, { context: { schema } });
  }
  return schema;
}

export async function openPostgresNotify(options: PostgresNotifyOptions): Promise<PostgresNotify> {
  const schema = checkSchema(options.schema ?? NOTIFY_POSTGRES_SCHEMA);
  const url = redactUrl(options.connectionString);
  const logger = (options.logger ?? silentLogger).child({ component: 'notify', backend: 'postgres', schema });
  const now = options.now ?? Date.now;
  const retry = resolveRetry(options.retry);
  const pollIntervalMs = positiveInteger(options.pollIntervalMs ?? 1000, 'pollIntervalMs');
  const claimMs = positiveInteger(options.claimMs ?? 2 * retry.timeoutMs + 10_000, 'claimMs');
  // Unique per open: a node restarted under the same name does not take its earlier claims for its own.
  const claimant = `${options.nodeName ?? os.hostname()}/${crypto.randomBytes(4).toString('hex')}`;
  const channel = channelOf(schema);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 4,
    options: `-c search_path=${schema}`,
    application_name: `tollstream-notify:${schema}`,
    // Ids and times are bigint: numbers here (they stay below 2^53).
    types: { getTypeParser: ((oid: number, format?: string) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
  });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  let webPush = options.webPush;
  try {
    const client = await pool.connect();
    try {
      await migrateNotifyPostgres(client, schema);
      if (webPush && !webPush.keys) webPush = { ...webPush, keys: await sharedVapidKeys(client, schema, webPush.offerKeys, now()) };
    } finally {
      client.release();
    }
  } catch (err) {
    if (isTollstreamError(err, 'STATE_CORRUPT')) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    await pool.end().catch(() => undefined);
    throw new TollstreamError('TABLES_UNAVAILABLE', `cannot open the notifications in schema ${schema} at ${url}: ${(err as Error).message}`, { context: { url, schema }, cause: err });
  }

  const query: Query = async (sql, values) => {
    try {
      return await pool.query(sql, values);
    } catch (err) {
      throw driverError(err, url);
    }
  };
  const transaction = async <T>(fn: (q: Query) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw driverError(err, url);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn((sql, values) => client.query(sql, values));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw driverError(err, url);
    } finally {
      client.release(broken);
    }
  };
  const topicOf = topicReader(schema);
  const topicOrThrow = async (name: string): Promise<TopicDescription> => {
    const topic = await topicOf(query, name);
    if (!topic) throw topicNotFound(name);
    return topic;
  };

  const hub = new InboxHub();
  // A node sends only what it is set up to send; deliveries of other channels wait for a node that can.
  const channels: DeliveryChannel[] = ['webhook', ...(options.webPush ? (['webpush'] as const) : []), ...(options.email ? (['email'] as const) : [])];
  const backend = postgresDispatchBackend({ transaction, query, topicOf, schema, channel, claimant, claimMs, channels });
  const dispatcher = createDispatcher({ ...options, ...(webPush ? { webPush } : {}) }, {
    backend,
    mirrorBackend: postgresMirrorBackend(transaction, query, topicOf),
    hub,
    logger,
    retry,
    pollIntervalMs,
    now,
    shared: true,
  });

  // The listener: one connection of its own, opened again at each poll while it is down.
  let closed = false;
  let listener: pg.Client | undefined;
  const listen = async (): Promise<void> => {
    if (listener || closed) return;
    const client = new pg.Client({ connectionString: options.connectionString, application_name: `tollstream-notify-listen:${schema}` });
    listener = client;
    const drop = () => {
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (n) => {
      if (n.payload === 'work') dispatcher.wake();
      else if (n.payload?.startsWith('inbox:')) hub.notify(n.payload.slice('inbox:'.length));
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
      if (closed) drop();
    } catch (err) {
      logger.warn('cannot listen for notifications of other nodes; polling only until the next try', { err });
      drop();
    }
  };
  await listen();
  const keeper = setInterval(() => void listen(), pollIntervalMs);
  keeper.unref();

  const notify: PostgresNotify = {
    schema,
    async createTopic(name, topicOptions = {}) {
      const { kind, customerField } = checkTopic(name, topicOptions);
      const inserted = await query('INSERT INTO notify_topics (name, kind, customer_field, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING', [name, kind, customerField ?? null, now()]);
      const topic = await topicOrThrow(name);
      return inserted.rowCount === 1 ? topic : existingTopic(topic, kind, customerField, topicOptions.ifNotExists);
    },
    listTopics: async () => (await query<TopicRow>('SELECT * FROM notify_topics ORDER BY name')).rows.map(toTopic),
    describeTopic: topicOrThrow,
    async subscribe(topicName, spec) {
      await topicOrThrow(topicName);
      const sub = checkSubscription(topicName, spec, options.email);
      const t = now();
      const row = await transaction(async (q) => {
        // A browser subscribing again (new keys, same endpoint), or a webhook URL subscribed again (a new secret),
        // replaces its subscription, also when two nodes take both at once (nodes starting with the same config).
        if (sub.protocol === 'webpush') {
          await q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:notify-push:${schema}:${topicName}:${sub.customerId}:${sub.url}`]);
          await q("DELETE FROM notify_subscriptions WHERE topic = $1 AND customer_id = $2 AND protocol = 'webpush' AND url = $3", [topicName, sub.customerId, sub.url]);
        } else if (sub.protocol === 'webhook') {
          await q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:notify-webhook:${schema}:${topicName}:${sub.url}`]);
          await q("DELETE FROM notify_subscriptions WHERE topic = $1 AND protocol = 'webhook' AND url = $2", [topicName, sub.url]);
        }
        return (
          await q<SubscriptionRow>('INSERT INTO notify_subscriptions (topic, protocol, customer_id, url, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *', [
            topicName,
            sub.protocol,
            sub.customerId,
            sub.url,
            sub.secret,
            t,
          ])
        ).rows[0]!;
      });
      return toSubscription(row);
    },
    async unsubscribe(id) {
      if ((await query('DELETE FROM notify_subscriptions WHERE id = $1', [id])).rowCount === 0) throw subscriptionNotFound(id);
    },
    async listSubscriptions(topicName) {
      await topicOrThrow(topicName);
      return (await query<SubscriptionRow>('SELECT * FROM notify_subscriptions WHERE topic = $1 ORDER BY id', [topicName])).rows.map(toSubscription);
    },
    async pushSubscription(topicName, customerId, endpoint) {
      const row = (await query<SubscriptionRow>("SELECT * FROM notify_subscriptions WHERE topic = $1 AND customer_id = $2 AND protocol = 'webpush' AND url = $3", [topicName, customerId, endpoint])).rows[0];
      return row ? toSubscription(row) : undefined;
    },
    async publish(topicName, message, publishOptions) {
      const result = await transaction((q) => insertOutbox(q, schema, topicOf, topicName, message, publishOptions, now()));
      if (!result.duplicate) dispatcher.wake();
      return result;
    },
    start: () => dispatcher.start(),
    stop: () => dispatcher.stop(),
    wake: () => dispatcher.wake(),
    listInbox: (customerId, listOptions = {}) => listInbox(query, customerId, checkListInbox(customerId, listOptions)),
    async markRead(customerId, ids) {
      checkReadIds(customerId, ids);
      return (await query('UPDATE notify_inbox SET read_at = $1 WHERE customer_id = $2 AND id = ANY($3::bigint[]) AND read_at IS NULL', [now(), customerId, ids])).rowCount ?? 0;
    },
    async unreadCount(customerId) {
      assertCustomerId(customerId);
      return (await query<{ n: number }>('SELECT count(*)::int AS n FROM notify_inbox WHERE customer_id = $1 AND read_at IS NULL', [customerId])).rows[0]!.n;
    },
    inboxEvents: (customerId, feedOptions = {}) => (assertCustomerId(customerId), inboxEvents((c, page) => listInbox(query, c, page), hub, customerId, feedOptions, pollIntervalMs)),
    async prune(pruneOptions) {
      const before = checkPruneBefore(pruneOptions);
      return transaction(async (q) => {
        const deliveries = (await q("DELETE FROM notify_deliveries WHERE status = 'delivered' AND outbox_id IN (SELECT id FROM notify_outbox WHERE created_at < $1)", [before])).rowCount ?? 0;
        const outbox =
          (
            await q(
              `DELETE FROM notify_outbox WHERE created_at < $1 AND dispatched_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM notify_deliveries d WHERE d.outbox_id = notify_outbox.id)
               AND NOT EXISTS (SELECT 1 FROM notify_mirror_pending m WHERE m.outbox_id = notify_outbox.id)`,
              [before],
            )
          ).rowCount ?? 0;
        return { outbox, deliveries };
      });
    },
    async stats(): Promise<NotifyStats> {
      const row = (
        await query<NotifyStats>(
          `SELECT (SELECT count(*) FROM notify_outbox WHERE dispatched_at IS NULL)::int AS "outboxPending",
                  (SELECT count(*) FROM notify_deliveries WHERE status = 'pending')::int AS "deliveriesPending",
                  (SELECT count(*) FROM notify_dead_letters)::int AS "deadLetters",
                  (SELECT count(*) FROM notify_mirror_pending)::int AS "mirrorsPending"`,
        )
      ).rows[0]!;
      return row;
    },
    async listDeadLetters(listOptions = {}) {
      const limit = checkDeadLetterLimit(listOptions.limit);
      return (await query<DeadLetterRow>('SELECT * FROM notify_dead_letters WHERE id > $1 ORDER BY id LIMIT $2', [listOptions.after ?? 0, limit])).rows.map(toDeadLetter);
    },
    async redriveDeadLetter(id) {
      const t = now();
      const found = await transaction(async (q) => {
        const dead = (await q<{ delivery_id: number }>('DELETE FROM notify_dead_letters WHERE id = $1 RETURNING delivery_id', [id])).rows[0];
        if (!dead) return false;
        await q("UPDATE notify_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1, claimed_by = NULL, claim_until = NULL WHERE id = $2", [t, dead.delivery_id]);
        await q('SELECT pg_notify($1, $2)', [channel, 'work']);
        return true;
      });
      if (!found) throw deadLetterNotFound(id);
      dispatcher.wake();
    },
    webPushPublicKey: () => webPush?.keys?.publicKey,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(keeper);
      await dispatcher.stop();
      hub.close();
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
  logger.info('notifications opened', { url, node: claimant });
  return notify;
}

async function listInbox(query: Query, customerId: string, options: ListInboxOptions & { limit: number }): Promise<InboxEntry[]> {
  const desc = options.order === 'desc';
  const rows = (
    await query<InboxRow>(`SELECT * FROM notify_inbox WHERE customer_id = $1 AND id > $2 AND id < $3 ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT $4`, [
      customerId,
      options.after ?? 0,
      options.before ?? Number.MAX_SAFE_INTEGER,
      options.limit,
    ])
  ).rows;
  return rows.map(toInboxEntry);
}

/**
 * The VAPID key pair of the cluster: the one in the schema, or the one offered (a new one without) stored there.
 * Nodes opening at once each offer a pair; the first insert wins and every node reads that one back.
 */
async function sharedVapidKeys(client: pg.ClientBase, schema: string, offer: VapidKeys | undefined, now: number): Promise<VapidKeys> {
  await client.query('INSERT INTO notify_vapid_keys (id, private_jwk, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING', [vapidJwk(offer), now]);
  const row = (await client.query<{ private_jwk: string }>('SELECT private_jwk FROM notify_vapid_keys WHERE id = 1')).rows[0]!;
  return vapidKeysFromJwk(row.private_jwk, `the Web Push key pair in ${schema}.notify_vapid_keys`, 'delete its row');
}
