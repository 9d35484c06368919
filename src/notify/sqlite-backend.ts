/**
 * The dispatcher's and the mirror relay's work in the SQLite tables database of one process. SQLite has one
 * writer, so a fan-out page is one synchronous transaction and a delivery is this process's alone.
 */
import type { Tables } from '../tables/index.ts';
import type { DeliveryStore } from './deliveries.ts';
import { customerOf, fanOutPlan, type DispatchBackend } from './dispatcher.ts';
import type { MirrorBackend, MirrorStore } from './mirror.ts';
import type { NotifyStore } from './store.ts';

export function sqliteDispatchBackend(tables: Tables, store: NotifyStore, deliveries: DeliveryStore, mirrors: MirrorStore): DispatchBackend {
  return {
    undispatched: async (limit) => store.undispatched(limit),
    topic: async (name) => store.topic(name),
    fanOutSubscriptionsOf: async (topic) => store.fanOutSubscriptionsOf(topic),
    async fanOut(limit, addresses, mirrorStreams, t) {
      const touched = new Set<string>();
      const taken = tables.transaction(() => {
        const rows = store.undispatched(limit);
        for (const row of rows) {
          if (!addresses.has(row.id)) break;
          const customerId = customerOf(store.topic(row.topic), row.message);
          const push = customerId !== undefined ? store.pushSubscriptionsOf(row.topic, customerId) : [];
          const plan = fanOutPlan(customerId, store.fanOutSubscriptionsOf(row.topic), push, addresses.get(row.id));
          for (const inbox of plan.inboxes) if (store.insertInbox(inbox, row, t)) touched.add(inbox);
          for (const d of plan.deliveries) deliveries.insert(row.id, d.subscriptionId, d.channel, d.url, d.secret, t);
          for (const stream of mirrorStreams(row.topic)) mirrors.insert(row.id, stream, t);
          store.markDispatched(row.id, t);
        }
        return rows.length;
      });
      return { taken, touched: [...touched] };
    },
    due: async (now, limit, inflight) => deliveries.due(now, limit + inflight.size).filter((d) => !inflight.has(d.id)).slice(0, limit),
    nextDueAt: async () => deliveries.nextDueAt(),
    async record(delivery, outcome, subscriptionGone, t) {
      tables.transaction(() => {
        if (outcome.kind === 'delivered') deliveries.markDelivered(delivery.id, t);
        else if (outcome.kind === 'dead') deliveries.markDead(delivery.id, outcome.error, t);
        else deliveries.markFailed(delivery.id, outcome.error, outcome.nextAttemptAt, t);
        if (subscriptionGone) store.deleteSubscription(delivery.subscription_id);
      });
      return true;
    },
    // One process: an attempt cut short is simply pending again.
    release: async () => undefined,
  };
}

export function sqliteMirrorBackend(tables: Tables, store: NotifyStore, mirrors: MirrorStore): MirrorBackend {
  return {
    topic: async (name) => store.topic(name),
    async take(route, limit, append) {
      const accepted = await append(mirrors.pending(route, limit));
      tables.transaction(() => {
        for (const row of accepted) mirrors.remove(row.outbox_id, route.stream);
      });
    },
  };
}
