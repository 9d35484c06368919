/**
 * `openNotify({ tables })`: notifications kept in the tables database. Opening creates the schema and adds
 * `publish` to tables transactions; nothing runs in the background until `start()`.
 */
import { TollstreamError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { assertJsonObject, type JsonObject, type TableTx } from '../tables/index.ts';
import { tablesInternals } from '../tables/internal.ts';
import { DeliveryStore } from './deliveries.ts';
import { Dispatcher } from './dispatcher.ts';
import { InboxHub, inboxEvents } from './feed.ts';
import { MirrorRelay, MirrorStore, resolveMirrorRoutes } from './mirror.ts';
import { migrateNotify } from './schema.ts';
import { assertCustomerId, NotifyStore, toSubscription } from './store.ts';
import type { Notify, NotifyOptions, PublishOptions, PublishResult, RetryPolicy, SubscriptionSpec, TopicDescription, TopicKind } from './types.ts';
import { assertWebhookSecret } from './webhook.ts';
import { assertPushTarget } from './webpush.ts';
import { mailAddress } from './smtp.ts';
import { renderPlainly } from './channels.ts';

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 300_000, timeoutMs: 10_000 };
/** SNS's limit; a notification is a short message, not a document. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
const TOPIC_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;
const FIELD_NAME = /^[A-Za-z0-9_]{1,128}$/;

export function openNotify(options: NotifyOptions): Notify {
  const internals = tablesInternals(options.tables);
  const logger = (options.logger ?? internals.logger).child({ component: 'notify' });
  const now = options.now ?? internals.now;
  try {
    migrateNotify(internals.db);
  } catch (err) {
    throw new TollstreamError('IO_ERROR', `cannot prepare the notifications schema: ${(err as Error).message}`, { cause: err });
  }
  const retry = resolveRetry(options.retry);
  const pollIntervalMs = positiveInteger(options.pollIntervalMs ?? 1000, 'pollIntervalMs');
  const store = new NotifyStore(internals.db);
  const deliveries = new DeliveryStore(internals.db);
  const hub = new InboxHub();
  const random = options.random ?? Math.random;
  const mirrorStore = new MirrorStore(internals.db);
  const mirror =
    options.mirror && options.mirror.routes.length > 0
      ? new MirrorRelay({
          tables: options.tables,
          store: mirrorStore,
          notifyStore: store,
          routes: resolveMirrorRoutes(options.mirror),
          append: options.mirror.append,
          logger,
          retry,
          random,
          now,
        })
      : undefined;
  const dispatcher = new Dispatcher({
    tables: options.tables,
    store,
    deliveries,
    hub,
    mirror,
    logger,
    retry,
    pollIntervalMs,
    concurrency: positiveInteger(options.concurrency ?? 8, 'concurrency'),
    fetch: options.fetch ?? globalThis.fetch,
    random,
    now,
    webPush: options.webPush,
    email: options.email,
    render: options.render ?? renderPlainly,
    addressOf: options.email?.addressOf,
  });

  const topicOrThrow = (name: string): TopicDescription => {
    const topic = store.topic(name);
    if (!topic) throw new TollstreamError('NOT_FOUND', `topic '${name}' does not exist; create it with createTopic('${name}')`, { context: { topic: name } });
    return topic;
  };

  const publishIn = (_tx: TableTx, topicName: string, message: JsonObject, publishOptions: PublishOptions): PublishResult => {
    const { key, text } = checkPublish(topicOrThrow(topicName), message, publishOptions);
    const result = store.insertOutbox(key, topicName, text, now());
    // Dispatched to customers after the commit: it must not be rolled back by a power loss once sent.
    internals.requireFlush();
    if (!result.duplicate) internals.afterCommit(() => dispatcher.wake());
    return result;
  };
  try {
    internals.decorate('publish', publishIn as (tx: TableTx, ...args: never[]) => unknown);
  } catch (err) {
    throw new TollstreamError('INVALID_ARGUMENT', 'notifications are already open on these tables; share the first Notify object', { cause: err });
  }
  internals.onClose(() => {
    dispatcher.halt();
    hub.close();
  });

  const notify: Notify = {
    createTopic(name, topicOptions = {}) {
      if (typeof name !== 'string' || !TOPIC_NAME.test(name)) {
        throw new TollstreamError('INVALID_ARGUMENT', `topic name '${String(name)}' must be 1-256 characters of A-Z a-z 0-9 _ . -`, { context: { topic: name } });
      }
      const kind: TopicKind = topicOptions.kind ?? 'standard';
      if (kind !== 'standard' && kind !== 'inbox') throw new TollstreamError('INVALID_ARGUMENT', "topic kind must be 'standard' or 'inbox'", { context: { topic: name } });
      const customerField = kind === 'inbox' ? (topicOptions.customerField ?? 'customer_id') : undefined;
      if (customerField !== undefined && !FIELD_NAME.test(customerField)) {
        throw new TollstreamError('INVALID_ARGUMENT', 'customerField must be a top-level attribute name of letters, digits and _', { context: { topic: name } });
      }
      return options.tables.transaction(() => {
        const existing = store.topic(name);
        if (existing) {
          if (topicOptions.ifNotExists && existing.kind === kind && existing.customerField === customerField) return existing;
          throw new TollstreamError('INVALID_ARGUMENT', `topic '${name}' already exists${topicOptions.ifNotExists ? ` as kind '${existing.kind}'` : '; pass ifNotExists to accept it'}`, {
            context: { topic: name },
          });
        }
        return store.createTopic(name, kind, customerField, now());
      });
    },
    listTopics: () => store.listTopics(),
    describeTopic: topicOrThrow,
    subscribe(topicName, spec: SubscriptionSpec) {
      topicOrThrow(topicName);
      if (spec?.protocol === 'inbox') {
        assertCustomerId(spec.customerId);
        return options.tables.transaction(() => store.insertSubscription(topicName, 'inbox', spec.customerId, null, null, now()));
      }
      if (spec?.protocol === 'webhook') {
        assertWebhookUrl(spec.url);
        assertWebhookSecret(spec.secret);
        return options.tables.transaction(() => store.insertSubscription(topicName, 'webhook', null, spec.url, spec.secret, now()));
      }
      if (spec?.protocol === 'webpush') {
        assertCustomerId(spec.customerId);
        assertPushTarget(spec);
        const keys = JSON.stringify({ p256dh: spec.p256dh, auth: spec.auth });
        return options.tables.transaction(() => {
          // A browser subscribing again (new keys, same endpoint) replaces its subscription rather than adding one.
          const existing = store.pushSubscription(topicName, spec.customerId, spec.endpoint);
          if (existing) store.deleteSubscription(existing.id);
          return store.insertSubscription(topicName, 'webpush', spec.customerId, spec.endpoint, keys, now());
        });
      }
      if (spec?.protocol === 'email') {
        if (spec.address !== undefined && mailAddress(spec.address) !== spec.address) {
          throw new TollstreamError('INVALID_ARGUMENT', `email subscription address '${String(spec.address)}' must be a plain address such as alerts@example.com`, { context: { topic: topicName } });
        }
        if (spec.address === undefined && !options.email?.addressOf) {
          throw new TollstreamError('INVALID_ARGUMENT', 'an email subscription without an address needs email.addressOf, which finds the address of each customer', { context: { topic: topicName } });
        }
        return options.tables.transaction(() => store.insertSubscription(topicName, 'email', null, spec.address ?? null, null, now()));
      }
      throw new TollstreamError('INVALID_ARGUMENT', "subscription protocol must be 'inbox', 'webhook', 'webpush' or 'email'", { context: { topic: topicName } });
    },
    unsubscribe(id) {
      if (!options.tables.transaction(() => store.deleteSubscription(id))) {
        throw new TollstreamError('NOT_FOUND', `subscription ${id} does not exist`, { context: { subscriptionId: id } });
      }
    },
    pushSubscription(topicName, customerId, endpoint) {
      const row = store.pushSubscription(topicName, customerId, endpoint);
      return row ? toSubscription(row) : undefined;
    },
    listSubscriptions: (topicName) => (topicOrThrow(topicName), store.subscriptionsOf(topicName).map(toSubscription)),
    publish: (topicName, message, publishOptions) => options.tables.transaction((tx) => tx.publish(topicName, message, publishOptions)),
    start: () => dispatcher.start(),
    stop: () => dispatcher.stop(),
    wake: () => dispatcher.wake(),
    listInbox(customerId, listOptions = {}) {
      assertCustomerId(customerId);
      const limit = listOptions.limit ?? 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw new TollstreamError('INVALID_ARGUMENT', 'limit must be an integer from 1 to 500', { context: { limit } });
      }
      return store.listInbox(customerId, { ...listOptions, limit });
    },
    markRead(customerId, ids) {
      assertCustomerId(customerId);
      if (!Array.isArray(ids) || ids.length > 1000 || ids.some((id) => !Number.isSafeInteger(id))) {
        throw new TollstreamError('INVALID_ARGUMENT', 'ids must be an array of at most 1000 inbox entry ids');
      }
      return options.tables.transaction(() => store.markRead(customerId, ids, now()));
    },
    unreadCount: (customerId) => (assertCustomerId(customerId), store.unreadCount(customerId)),
    inboxEvents: (customerId, feedOptions = {}) => (assertCustomerId(customerId), inboxEvents(store, hub, customerId, feedOptions, pollIntervalMs)),
    prune(pruneOptions) {
      const before = pruneOptions?.before;
      if (!Number.isSafeInteger(before)) throw new TollstreamError('INVALID_ARGUMENT', 'prune needs before: a time in ms since the epoch');
      return options.tables.transaction(() => deliveries.prune(before));
    },
    stats: () => ({ ...deliveries.counts(), ...store.counts(), mirrorsPending: mirrorStore.count() }),
    listDeadLetters(listOptions = {}) {
      const limit = listOptions.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new TollstreamError('INVALID_ARGUMENT', 'limit must be an integer from 1 to 1000', { context: { limit } });
      }
      return deliveries.listDeadLetters(listOptions.after ?? 0, limit);
    },
    redriveDeadLetter(id) {
      if (!options.tables.transaction(() => deliveries.redrive(id, now()))) {
        throw new TollstreamError('NOT_FOUND', `dead letter ${id} does not exist`, { context: { deadLetterId: id } });
      }
      dispatcher.wake();
    },
  };
  return notify;
}

/** Checks a message before it enters an outbox; returns its idempotency key and its JSON text. */
export function checkPublish(topic: TopicDescription, message: JsonObject, publishOptions: PublishOptions): { key: string; text: string } {
  const topicName = topic.name;
  const key = publishOptions?.idempotencyKey;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new TollstreamError('INVALID_ARGUMENT', 'idempotencyKey must be 1 to 256 visible ASCII characters (it is sent as the webhook-id header)', {
      context: { topic: topicName },
    });
  }
  assertJsonObject(message, 'message');
  if (topic.kind === 'inbox' && topic.customerField) {
    const customerId = message[topic.customerField];
    if (typeof customerId !== 'string' || customerId === '' || customerId.length > 256) {
      throw new TollstreamError('INVALID_ARGUMENT', `messages of inbox topic '${topicName}' must name the customer (1-256 characters) in '${topic.customerField}'`, {
        context: { topic: topicName, idempotencyKey: key },
      });
    }
  }
  const text = JSON.stringify(message);
  if (text.length * 3 > MAX_MESSAGE_BYTES && Buffer.byteLength(text) > MAX_MESSAGE_BYTES) {
    throw new TollstreamError('PAYLOAD_TOO_LARGE', `the message is ${Buffer.byteLength(text)} bytes as JSON; the limit is ${MAX_MESSAGE_BYTES}`, {
      context: { topic: topicName, idempotencyKey: key },
    });
  }
  return { key, text };
}

function resolveRetry(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const retry = { ...DEFAULT_RETRY, ...partial };
  for (const [name, value] of Object.entries(retry)) positiveInteger(value, `retry.${name}`);
  return retry;
}

function positiveInteger(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new TollstreamError('CONFIG_INVALID', `${name} must be a positive integer`, { context: { [name]: value } });
  }
  return value as number;
}

function assertWebhookUrl(url: unknown): asserts url is string {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new TollstreamError('INVALID_ARGUMENT', `webhook url '${String(url)}' must be an absolute http:// or https:// URL`, { context: { url } });
  }
}
