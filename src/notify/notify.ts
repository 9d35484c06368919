/**
 * `openNotify({ tables })`: notifications kept in the tables database. Opening creates the schema and adds
 * `publish` to tables transactions; nothing runs in the background until `start()`.
 */
import { TollstreamError } from '../core/errors.ts';
import type { JsonObject, TableTx } from '../tables/index.ts';
import { tablesInternals } from '../tables/internal.ts';
import {
  checkDeadLetterLimit,
  checkListInbox,
  checkPruneBefore,
  checkPublish,
  checkReadIds,
  checkSubscription,
  checkTopic,
  assertCustomerId,
  deadLetterNotFound,
  existingTopic,
  positiveInteger,
  resolveRetry,
  subscriptionNotFound,
  topicNotFound,
} from './checks.ts';
import { DeliveryStore } from './deliveries.ts';
import { createDispatcher } from './dispatcher.ts';
import { InboxHub, inboxEvents } from './feed.ts';
import { MirrorStore } from './mirror.ts';
import { migrateNotify } from './schema.ts';
import { sqliteDispatchBackend, sqliteMirrorBackend } from './sqlite-backend.ts';
import { NotifyStore, toSubscription } from './store.ts';
import type { Notify, NotifyOptions, PublishOptions, PublishResult, TopicDescription } from './types.ts';

export { DEFAULT_RETRY, MAX_MESSAGE_BYTES, RETRY_LIMITS } from './checks.ts';

export function openNotify(options: NotifyOptions): Notify {
  const internals = tablesInternals(options.tables);
  const logger = (options.logger ?? internals.logger).child({ component: 'notify' });
  const now = options.now ?? internals.now;
  try {
    migrateNotify(internals.db);
  } catch (err) {
    throw new TollstreamError('IO_ERROR', `cannot prepare the notifications schema: ${(err as Error).message}`, { cause: err });
  }
  if (options.webPush && !options.webPush.keys) {
    throw new TollstreamError('CONFIG_INVALID', 'Web Push on one node signs with the VAPID keys it is given (webPush.keys, loadOrCreateVapidKeys)', { context: { key: 'webPush.keys' } });
  }
  const retry = resolveRetry(options.retry);
  const pollIntervalMs = positiveInteger(options.pollIntervalMs ?? 1000, 'pollIntervalMs');
  const store = new NotifyStore(internals.db);
  const deliveries = new DeliveryStore(internals.db);
  const hub = new InboxHub();
  const mirrorStore = new MirrorStore(internals.db);
  const dispatcher = createDispatcher(options, {
    backend: sqliteDispatchBackend(options.tables, store, deliveries, mirrorStore),
    mirrorBackend: sqliteMirrorBackend(options.tables, store, mirrorStore),
    hub,
    logger,
    retry,
    pollIntervalMs,
    now,
  });

  const topicOrThrow = (name: string): TopicDescription => {
    const topic = store.topic(name);
    if (!topic) throw topicNotFound(name);
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
      const { kind, customerField } = checkTopic(name, topicOptions);
      return options.tables.transaction(() => {
        const existing = store.topic(name);
        if (existing) return existingTopic(existing, kind, customerField, topicOptions.ifNotExists);
        return store.createTopic(name, kind, customerField, now());
      });
    },
    listTopics: () => store.listTopics(),
    describeTopic: topicOrThrow,
    subscribe(topicName, spec) {
      topicOrThrow(topicName);
      const sub = checkSubscription(topicName, spec, options.email);
      return options.tables.transaction(() => {
        // A browser subscribing again (new keys, same endpoint), or a webhook URL subscribed again (a new secret),
        // replaces its subscription rather than adding one that would get every message twice.
        const existing =
          sub.protocol === 'webpush' ? store.pushSubscription(topicName, sub.customerId!, sub.url!) : sub.protocol === 'webhook' ? store.webhookSubscription(topicName, sub.url!) : undefined;
        if (existing) store.deleteSubscription(existing.id);
        return store.insertSubscription(topicName, sub.protocol, sub.customerId, sub.url, sub.secret, now());
      });
    },
    unsubscribe(id) {
      if (!options.tables.transaction(() => store.deleteSubscription(id))) throw subscriptionNotFound(id);
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
    listInbox: (customerId, listOptions = {}) => store.listInbox(customerId, checkListInbox(customerId, listOptions)),
    markRead(customerId, ids) {
      checkReadIds(customerId, ids);
      return options.tables.transaction(() => store.markRead(customerId, ids, now()));
    },
    unreadCount: (customerId) => (assertCustomerId(customerId), store.unreadCount(customerId)),
    inboxEvents: (customerId, feedOptions = {}) => (assertCustomerId(customerId), inboxEvents((c, page) => store.listInbox(c, page), hub, customerId, feedOptions, pollIntervalMs)),
    prune(pruneOptions) {
      const before = checkPruneBefore(pruneOptions);
      return options.tables.transaction(() => deliveries.prune(before));
    },
    stats: () => ({ ...deliveries.counts(), ...store.counts(), mirrorsPending: mirrorStore.count() }),
    listDeadLetters: (listOptions = {}) => deliveries.listDeadLetters(listOptions.after ?? 0, checkDeadLetterLimit(listOptions.limit)),
    redriveDeadLetter(id) {
      if (!options.tables.transaction(() => deliveries.redrive(id, now()))) throw deadLetterNotFound(id);
      dispatcher.wake();
    },
    webPushPublicKey: () => options.webPush?.keys?.publicKey,
  };
  return notify;
}
