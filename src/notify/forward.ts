/**
 * Notifications published in a SQLite tables database, carried on to other notifications: on a node of a
 * cluster, what functions still committing to the node's `tables.db` publish (`tx.publish`) goes on to the
 * notifications the nodes share. The rows are read from the SQLite outbox, published with their idempotency
 * key, then marked dispatched; a crash in between publishes them again, which the key makes a no-op.
 */
import type { Logger } from '../core/logger.ts';
import type { JsonObject, Tables } from '../tables/index.ts';
import { tablesInternals } from '../tables/internal.ts';
import { FAN_OUT_PAGE } from './dispatcher.ts';
import { NotifyStore } from './store.ts';
import type { Notifications, Notify } from './types.ts';

export interface ForwardingOptions {
  /** The SQLite notifications of `tables` (`openNotify`), whose dispatcher is then never started. */
  readonly local: Notify;
  readonly tables: Tables;
  /** Where the notifications go: fan-out, inboxes and deliveries are theirs. */
  readonly shared: Notifications;
  readonly logger: Logger;
  /** How often the SQLite outbox is read, in ms. @default 1000 */
  readonly pollIntervalMs?: number;
}

/**
 * The shared notifications, with topics created in the SQLite ones too (their `tx.publish` checks the topic) and,
 * between `start` and `stop`, the SQLite outbox carried on to them.
 */
export function forwardingNotifications(options: ForwardingOptions): Notifications {
  const { local, tables, shared, logger } = options;
  const internals = tablesInternals(tables);
  const store = new NotifyStore(internals.db);
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> | undefined;

  const forwardPage = async (): Promise<number> => {
    const rows = store.undispatched(FAN_OUT_PAGE);
    for (const row of rows) {
      await shared.publish(row.topic, JSON.parse(row.message) as JsonObject, { idempotencyKey: row.idempotency_key });
      tables.transaction(() => store.markDispatched(row.id, internals.now()));
    }
    return rows.length;
  };
  const tick = (): void => {
    if (!running || pass) return;
    let moved = 0;
    pass = forwardPage()
      .then(
        (n) => void (moved = n),
        (err: unknown) => logger.error('carrying notifications from tables.db on to the shared notifications failed; retrying at the next poll', { err }),
      )
      .finally(() => {
        pass = undefined;
        if (running) schedule(moved >= FAN_OUT_PAGE ? 0 : pollIntervalMs);
      });
  };
  const schedule = (delayMs: number): void => {
    clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
  };
  internals.onClose(() => {
    running = false;
    clearTimeout(timer);
  });

  return {
    ...bound(shared),
    async createTopic(name, topicOptions) {
      const topic = await shared.createTopic(name, topicOptions);
      local.createTopic(name, { ...(topicOptions ?? {}), kind: topic.kind, ...(topic.customerField !== undefined ? { customerField: topic.customerField } : {}), ifNotExists: true });
      return topic;
    },
    start() {
      shared.start();
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await pass;
      await shared.stop();
    },
    wake() {
      shared.wake();
      if (running && !pass) schedule(0);
    },
  };
}

/** The methods of `n` bound to it, so they can be spread into another object. */
function bound(n: Notifications): Notifications {
  return {
    createTopic: (...a) => n.createTopic(...a),
    listTopics: () => n.listTopics(),
    describeTopic: (name) => n.describeTopic(name),
    subscribe: (topic, spec) => n.subscribe(topic, spec),
    unsubscribe: (id) => n.unsubscribe(id),
    listSubscriptions: (topic) => n.listSubscriptions(topic),
    publish: (topic, message, o) => n.publish(topic, message, o),
    start: () => n.start(),
    stop: () => n.stop(),
    wake: () => n.wake(),
    listInbox: (c, o) => n.listInbox(c, o),
    markRead: (c, ids) => n.markRead(c, ids),
    unreadCount: (c) => n.unreadCount(c),
    inboxEvents: (c, o) => n.inboxEvents(c, o),
    prune: (o) => n.prune(o),
    stats: () => n.stats(),
    listDeadLetters: (o) => n.listDeadLetters(o),
    pushSubscription: (t, c, e) => n.pushSubscription(t, c, e),
    redriveDeadLetter: (id) => n.redriveDeadLetter(id),
    webPushPublicKey: () => n.webPushPublicKey(),
  };
}
