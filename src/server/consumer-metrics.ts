/**
 * The metrics of every functions runtime and notification store in the server (the spending alerts', the
 * station alerts', ...), registered once: each family has one series per mapping whichever runtime runs it,
 * and the notification gauges add up the stores.
 */
import type { DeliveryStream } from '../delivery/index.ts';
import type { FunctionsRuntime } from '../functions/index.ts';
import { lagSeconds } from '../log/index.ts';
import type { Registry } from '../metrics/index.ts';
import type { Notifications } from '../notify/index.ts';
import type { QueryManager } from '../queries/index.ts';

export interface ConsumerMetrics {
  /** Reports this runtime's mappings in `tollstream_function_*`. */
  addFunctions(runtime: FunctionsRuntime): void;
  /** Reports these deliveries' records behind in `tollstream_consumer_lag_records` (kind `delivery`). */
  addDeliveries(deliveries: ReadonlyArray<Pick<DeliveryStream, 'name' | 'lag'>>): void;
  /** Reports the continuous queries' records behind in `tollstream_consumer_lag_records` (kind `query`). */
  addQueries(queries: Pick<QueryManager, 'lag'>): void;
  /**
   * Adds this store's outbox, webhook deliveries and dead letters to `tollstream_notify_*`; `name` names the
   * store where its dead letters are listed (`spend-alerts`, `station-alerts`).
   */
  addNotify(name: string, notify: Notifications): void;
  /** The notification stores added, by name. */
  notifyStores(): ReadonlyArray<{ readonly name: string; readonly notify: Notifications }>;
  /** The functions runtimes added: their mappings' on-failure destinations hold the functions' dead letters. */
  functionRuntimes(): readonly FunctionsRuntime[];
}

export function registerConsumerMetrics(registry: Registry): ConsumerMetrics {
  const runtimes: FunctionsRuntime[] = [];
  const deliveries: Array<Pick<DeliveryStream, 'name' | 'lag'>> = [];
  const queryManagers: Array<Pick<QueryManager, 'lag'>> = [];
  const notifies: Array<{ readonly name: string; readonly notify: Notifications }> = [];
  const invocations = registry.counter('tollstream_function_invocations_total', 'Handler invocations, by mapping.', ['mapping']);
  const errors = registry.counter('tollstream_function_errors_total', 'Failed handler invocations, by mapping.', ['mapping']);
  const retries = registry.counter('tollstream_function_retries_total', 'Batches retried after a failure, by mapping.', ['mapping']);
  const processed = registry.counter('tollstream_function_records_total', 'Records whose effects are committed, by mapping.', ['mapping']);
  const onFailure = registry.counter('tollstream_function_on_failure_records_total', 'Records given up on and sent to the on-failure destination, by mapping.', ['mapping']);
  const age = registry.gauge('tollstream_function_iterator_age_seconds', 'Now minus the arrival time of the last record processed, in seconds, by mapping.', ['mapping']);
  const lagRecords = registry.gauge(
    'tollstream_consumer_lag_records',
    'Records appended to a shard after the consumer\'s last committed position, by consumer, stream, shard and kind of consumer (function, delivery, query).',
    ['consumer', 'stream', 'shard', 'kind'],
  );
  const lagSecondsGauge = registry.gauge(
    'tollstream_consumer_lag_seconds',
    "Now minus the arrival time of the oldest record after the consumer's last committed position, in seconds; 0 when nothing is behind. By consumer, stream, shard and kind of consumer (function, delivery, query).",
    ['consumer', 'stream', 'shard', 'kind'],
  );
  const outbox = registry.gauge('tollstream_notify_outbox_pending', 'Notifications committed but not yet fanned out.');
  const pending = registry.gauge('tollstream_notify_deliveries_pending', 'Webhook deliveries waiting for their next attempt.');
  const dead = registry.gauge('tollstream_notify_dead_letters', 'Webhook deliveries given up after their last attempt.');
  const mirrors = registry.gauge('tollstream_notify_mirrors_pending', 'Notifications fanned out and not yet appended to the streams their topic is mirrored to.');
  registry.onCollect(() => {
    for (const family of [invocations, errors, retries, processed, onFailure, age]) family.reset();
    for (const runtime of runtimes) {
      for (const s of runtime.stats()) {
        invocations.labels(s.name).inc(s.invocations);
        errors.labels(s.name).inc(s.errors);
        retries.labels(s.name).inc(s.retries);
        processed.labels(s.name).inc(s.recordsProcessed);
        onFailure.labels(s.name).inc(s.recordsSentToOnFailure);
        age.labels(s.name).set(s.iteratorAgeMs / 1000);
      }
    }
  });
  registry.onCollectAsync(async () => {
    const total = { outboxPending: 0, deliveriesPending: 0, deadLetters: 0, mirrorsPending: 0 };
    for (const n of await Promise.all(notifies.map(({ notify }) => notify.stats()))) {
      total.outboxPending += n.outboxPending;
      total.deliveriesPending += n.deliveriesPending;
      total.deadLetters += n.deadLetters;
      total.mirrorsPending += n.mirrorsPending;
    }
    outbox.labels().set(total.outboxPending);
    pending.labels().set(total.deliveriesPending);
    dead.labels().set(total.deadLetters);
    mirrors.labels().set(total.mirrorsPending);
    const [functionLags, deliveryLags, queryLags] = await Promise.all([
      Promise.all(runtimes.map((r) => r.lag())),
      Promise.all(deliveries.map(async (d) => (await d.lag()).map((l) => ({ ...l, delivery: d.name })))),
      Promise.all(queryManagers.map((q) => q.lag())),
    ]);
    lagRecords.reset();
    lagSecondsGauge.reset();
    const now = Date.now();
    const rows = [
      ...functionLags.flat().map((l) => ({ ...l, consumer: l.mapping, kind: 'function' })),
      ...deliveryLags.flat().map((l) => ({ ...l, consumer: l.delivery, kind: 'delivery' })),
      ...queryLags.flat().map((l) => ({ ...l, consumer: l.query, kind: 'query' })),
    ];
    for (const l of rows) {
      lagRecords.labels(l.consumer, l.stream, l.shardId, l.kind).set(l.records);
      lagSecondsGauge.labels(l.consumer, l.stream, l.shardId, l.kind).set(lagSeconds(l.oldestArrivalTime, now));
    }
  });
  return {
    addFunctions: (runtime) => void runtimes.push(runtime),
    addDeliveries: (list) => void deliveries.push(...list),
    addQueries: (manager) => void queryManagers.push(manager),
    addNotify: (name, notify) => void notifies.push({ name, notify }),
    notifyStores: () => notifies,
    functionRuntimes: () => runtimes,
  };
}
