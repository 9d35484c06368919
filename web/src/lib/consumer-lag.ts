/**
 * How far behind each consumer is, read from one `/metrics` scrape: in seconds (deliveries'
 * `tollstream_delivery_behind_latest_seconds`, functions' iterator age) and in records per shard
 * (`tollstream_consumer_lag_records`). Plain TypeScript with no DOM use, so the tests import it under Node.
 */
import { samplesOf, type MetricFamily } from './prometheus.ts';

export interface ConsumerLag {
  readonly consumer: string;
  readonly kind: 'delivery' | 'function';
  /** Seconds behind the newest record, when the consumer reports it. */
  readonly seconds?: number;
  /** Records behind, per stream shard (`stream/shardId`), when the consumer reports them; sorted by shard. */
  readonly shards: ReadonlyArray<{ readonly stream: string; readonly shard: string; readonly records: number }>;
}

export function consumerLag(families: Map<string, MetricFamily>): ConsumerLag[] {
  const byName = new Map<string, { kind: ConsumerLag['kind']; seconds?: number; shards: Array<ConsumerLag['shards'][number]> }>();
  const entry = (consumer: string, kind: ConsumerLag['kind']) => {
    let e = byName.get(consumer);
    if (!e) byName.set(consumer, (e = { kind, shards: [] }));
    return e;
  };
  for (const s of samplesOf(families, 'tollstream_delivery_behind_latest_seconds')) entry(s.labels.delivery ?? '?', 'delivery').seconds = s.value;
  for (const family of families.values()) {
    // Functions report the age of the last record they read (Lambda's IteratorAge), in seconds.
    if (!/^tollstream_function.*(behind|lag|iterator_age)/.test(family.name)) continue;
    for (const s of family.samples) {
      const who = s.labels.mapping ?? s.labels.function ?? s.labels.consumer ?? Object.values(s.labels).join(' ');
      entry(who, 'function').seconds = /millis|_ms$/.test(family.name) ? s.value / 1000 : s.value;
    }
  }
  // Function mappings report their records behind per shard, stopped ones too (they have no seconds then).
  for (const s of samplesOf(families, 'tollstream_consumer_lag_records')) {
    entry(s.labels.consumer ?? '?', 'function').shards.push({ stream: s.labels.stream ?? '', shard: s.labels.shard ?? '', records: s.value });
  }
  return [...byName].map(([consumer, e]) => ({
    consumer,
    kind: e.kind,
    ...(e.seconds !== undefined ? { seconds: e.seconds } : {}),
    shards: e.shards.sort((a, b) => (a.stream === b.stream ? a.shard.localeCompare(b.shard) : a.stream.localeCompare(b.stream))),
  }));
}

/** The records behind over all of a consumer's shards, or undefined when it reports none. */
export function totalRecordsBehind(lag: ConsumerLag): number | undefined {
  return lag.shards.length === 0 ? undefined : lag.shards.reduce((n, s) => n + s.records, 0);
}
