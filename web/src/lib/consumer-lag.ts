/**
 * How far behind each consumer is, read from one `/metrics` scrape: in seconds (deliveries'
 * `tollstream_delivery_behind_latest_seconds`, functions' iterator age, queries' `tollstream_query_lag_seconds`)
 * and in records per shard (`tollstream_consumer_lag_records`, whose `kind` label says which of the three). Plain TypeScript with no DOM use, so the tests import it under Node.
 */
import { samplesOf, type MetricFamily } from './prometheus.ts';

export interface ConsumerLag {
  readonly consumer: string;
  readonly kind: 'delivery' | 'function' | 'query';
  /** Seconds behind the newest record, when the consumer reports it. */
  readonly seconds?: number;
  /** Records behind, per stream shard (`stream/shardId`), when the consumer reports them; sorted by shard. */
  readonly shards: ReadonlyArray<{ readonly stream: string; readonly shard: string; readonly records: number }>;
}

export function consumerLag(families: Map<string, MetricFamily>): ConsumerLag[] {
  const byName = new Map<string, { consumer: string; kind: ConsumerLag['kind']; seconds?: number; shards: Array<ConsumerLag['shards'][number]> }>();
  // Keyed by kind and name: a function and a query may share a name.
  const entry = (consumer: string, kind: ConsumerLag['kind']) => {
    const key = `${kind}\u0000${consumer}`;
    let e = byName.get(key);
    if (!e) byName.set(key, (e = { consumer, kind, shards: [] }));
    return e;
  };
  for (const s of samplesOf(families, 'tollstream_delivery_behind_latest_seconds')) entry(s.labels.delivery ?? '?', 'delivery').seconds = s.value;
  for (const s of samplesOf(families, 'tollstream_query_lag_seconds')) entry(s.labels.query ?? '?', 'query').seconds = s.value;
  for (const family of families.values()) {
    // Functions report the age of the last record they read (Lambda's IteratorAge), in seconds.
    if (!/^tollstream_function.*(behind|lag|iterator_age)/.test(family.name)) continue;
    for (const s of family.samples) {
      const who = s.labels.mapping ?? s.labels.function ?? s.labels.consumer ?? Object.values(s.labels).join(' ');
      entry(who, 'function').seconds = /millis|_ms$/.test(family.name) ? s.value / 1000 : s.value;
    }
  }
  // Every consumer reports its records behind per shard, stopped ones too (a stopped function has no seconds then).
  for (const s of samplesOf(families, 'tollstream_consumer_lag_records')) {
    const kind = s.labels.kind === 'delivery' || s.labels.kind === 'query' ? s.labels.kind : 'function';
    entry(s.labels.consumer ?? '?', kind).shards.push({ stream: s.labels.stream ?? '', shard: s.labels.shard ?? '', records: s.value });
  }
  return [...byName.values()].map((e) => ({
    consumer: e.consumer,
    kind: e.kind,
    ...(e.seconds !== undefined ? { seconds: e.seconds } : {}),
    shards: e.shards.sort((a, b) => (a.stream === b.stream ? a.shard.localeCompare(b.shard) : a.stream.localeCompare(b.stream))),
  }));
}

/** The records behind over all of a consumer's shards, or undefined when it reports none. */
export function totalRecordsBehind(lag: ConsumerLag): number | undefined {
  return lag.shards.length === 0 ? undefined : lag.shards.reduce((n, s) => n + s.records, 0);
}
