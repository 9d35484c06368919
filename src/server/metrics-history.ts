/**
 * The console's history of the server's metrics, kept in the log itself: every `metrics.historyIntervalSeconds`
 * the node appends one record with the values of a chosen set of counters and gauges to the stream
 * `tollstream_metrics_history` (retention `metrics.historyRetentionHours`). It survives restarts as every stream
 * does, costs one small record per interval, and needs no other store. In a cluster every node appends its own
 * records (the partition key is the node's name).
 *
 *   GET /v1/metrics/history?since=6h&names=tollstream_records_in_total,...&maxPoints=720
 *     -> { intervalSeconds, points: [{ t, node, values: { 'name{label="v"}': number } }] }   (operator key)
 *
 * Counters are kept raw: a reader computes rates between points, a counter that went down having restarted.
 */
import type { Logger } from '../core/logger.ts';
import { invalidParameter, operatorRoutes, sendJson, type RouteModule } from '../gateway/index.ts';
import { ensureStream, type StartPosition, type StreamLog } from '../log/index.ts';
import type { HistorySeries, Registry } from '../metrics/index.ts';

export const HISTORY_STREAM = 'tollstream_metrics_history';

/** The platform's series; the apps add their own (`App.historySeries`). */
const PLATFORM_SERIES: readonly HistorySeries[] = [
  { name: 'tollstream_records_in_total', by: ['stream'] },
  { name: 'tollstream_bytes_in_total', by: ['stream'] },
  { name: 'tollstream_function_records_total', by: ['mapping'] },
  { name: 'tollstream_function_errors_total', by: ['mapping'] },
  { name: 'tollstream_function_on_failure_records_total', by: ['mapping'] },
  { name: 'tollstream_function_iterator_age_seconds', by: ['mapping'], combine: 'max' },
  { name: 'tollstream_consumer_lag_records', by: ['consumer', 'shard'] },
  { name: 'tollstream_consumer_lag_seconds', by: ['kind', 'consumer', 'shard'], combine: 'max' },
  { name: 'tollstream_delivery_rows_total', by: ['delivery'] },
  { name: 'tollstream_delivery_errors_total', by: ['delivery'] },
  { name: 'tollstream_delivery_behind_latest_seconds', by: ['delivery'], combine: 'max' },
  { name: 'tollstream_query_rows_in_total', by: ['query'] },
  { name: 'tollstream_query_errors_total', by: ['query'] },
  { name: 'tollstream_query_lag_seconds', by: ['query'], combine: 'max' },
  { name: 'tollstream_warehouse_freshness_seconds', by: [] },
  { name: 'tollstream_notify_outbox_pending', by: [] },
  { name: 'tollstream_notify_dead_letters', by: [] },
  { name: 'process_cpu_seconds_total', by: [] },
  { name: 'process_resident_memory_bytes', by: [] },
];

export interface MetricsHistoryOptions {
  readonly log: StreamLog;
  readonly registry: Registry;
  /** Seconds between samples. */
  readonly intervalSeconds: number;
  readonly retentionHours: number;
  /** Series kept besides the platform's: the apps'. @default none */
  readonly series?: readonly HistorySeries[];
  /** Names this node's records. */
  readonly node: string;
  /** Throws UNAUTHORIZED; the gateway authenticator's `verifyBearer`. */
  readonly operatorAuth: (authorizationHeader: string | undefined) => void;
  readonly logger: Logger;
}

export interface HistoryPoint {
  /** When the sample was taken, ms since the epoch. */
  readonly t: number;
  readonly node: string;
  readonly values: Readonly<Record<string, number>>;
}

export interface MetricsHistory {
  readonly routes: RouteModule;
  /** Takes one sample now (the timer does this every interval). */
  sample(): Promise<void>;
  stop(): void;
}

/** A series' key: `name{label="value",...}` with the kept labels in the order declared. */
function seriesKey(name: string, by: readonly string[], labels: Readonly<Record<string, string>>): string {
  return by.length === 0 ? name : `${name}{${by.map((l) => `${l}=${JSON.stringify(labels[l] ?? '')}`).join(',')}}`;
}

/** The kept series of the registry now (after its collectors ran): the platform's, and `extra`. */
export function snapshot(registry: Registry, extra: readonly HistorySeries[] = []): Record<string, number> {
  const values: Record<string, number> = {};
  for (const kept of [...PLATFORM_SERIES, ...extra]) {
    for (const s of registry.series(kept.name)) {
      if (!Number.isFinite(s.value)) continue;
      const key = seriesKey(kept.name, kept.by, s.labels);
      const before = values[key];
      values[key] = before === undefined ? s.value : kept.combine === 'max' ? Math.max(before, s.value) : before + s.value;
    }
  }
  return values;
}

export async function startMetricsHistory(options: MetricsHistoryOptions): Promise<MetricsHistory> {
  const { log, registry, logger } = options;
  const series = options.series ?? [];
  await ensureStream(log, HISTORY_STREAM, { shardCount: 1, retentionHours: options.retentionHours });
  let failing = false;
  const sample = async (): Promise<void> => {
    await registry.collect();
    const point: HistoryPoint = { t: Date.now(), node: options.node, values: snapshot(registry, series) };
    await log.append(HISTORY_STREAM, [{ partitionKey: options.node, data: Buffer.from(JSON.stringify(point)) }]);
  };
  let inFlight: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = sample()
      .then(() => {
        if (failing) logger.info('metrics history is recorded again');
        failing = false;
      })
      .catch((err: unknown) => {
        // A sample lost is a gap in a chart; it must not stop the server. Say it once per outage.
        if (!failing) logger.warn('could not record a metrics history sample', { error: (err as Error).message });
        failing = true;
      })
      .finally(() => (inFlight = undefined));
  }, options.intervalSeconds * 1000);
  timer.unref();

  const routes = operatorRoutes('/v1/metrics/history', { operatorAuth: options.operatorAuth, logger }, [
    {
      pattern: 'GET /v1/metrics/history',
      route: async (_req, res, _params, query) => {
        sendJson(res, 200, { intervalSeconds: options.intervalSeconds, retentionHours: options.retentionHours, points: await readHistory(log, parseHistoryQuery(query, Date.now(), series)) });
      },
    },
  ], 'the history is read with GET /v1/metrics/history');
  return { routes, sample, stop: () => clearInterval(timer) };
}

export interface HistoryQuery {
  /** Points taken at or after this time, ms since the epoch. */
  readonly since: number;
  /** Only series of these metric names (all kept ones when empty). */
  readonly names: readonly string[];
  /** At most this many points: evenly thinned when more were recorded. */
  readonly maxPoints: number;
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_POINTS = 10_000;

export function parseHistoryQuery(query: URLSearchParams, now = Date.now(), extra: readonly HistorySeries[] = []): HistoryQuery {
  const sinceText = query.get('since') ?? '1h';
  let since: number;
  const d = DURATION.exec(sinceText);
  if (d) since = now - Number(d[1]) * UNIT_MS[d[2] as keyof typeof UNIT_MS];
  else if (/^\d{10,16}$/.test(sinceText)) since = Number(sinceText);
  else throw invalidParameter('since', `since must be a duration such as 30m, 6h or 1d, or a time in ms since the epoch; got '${sinceText}'`);
  const names = (query.get('names') ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
  const kept = [...PLATFORM_SERIES, ...extra];
  const unknown = names.find((n) => !kept.some((k) => k.name === n));
  if (unknown !== undefined) throw invalidParameter('names', `'${unknown}' is not kept in the metrics history; kept: ${kept.map((k) => k.name).join(', ')}`);
  const maxText = query.get('maxPoints') ?? '1000';
  const maxPoints = Number(maxText);
  if (!Number.isInteger(maxPoints) || maxPoints < 2 || maxPoints > MAX_POINTS) throw invalidParameter('maxPoints', `maxPoints must be an integer from 2 to ${MAX_POINTS}; got '${maxText}'`);
  return { since, names, maxPoints };
}

/** The recorded points since `since`, oldest first, thinned to `maxPoints` (always keeping the newest). */
export async function readHistory(log: StreamLog, query: HistoryQuery): Promise<HistoryPoint[]> {
  const stream = await log.describeStream(HISTORY_STREAM);
  const points: HistoryPoint[] = [];
  for (const shard of stream.shards) {
    let from: StartPosition | null = { type: 'AT_TIMESTAMP', timestamp: query.since };
    while (from !== null) {
      const read = await log.read(HISTORY_STREAM, shard.shardId, from, { maxRecords: 10_000 });
      for (const record of read.records) {
        const point = parsePoint(record.data);
        if (point && point.t >= query.since) points.push(query.names.length === 0 ? point : { ...point, values: pick(point.values, query.names) });
      }
      if (read.records.length === 0 || read.millisBehindLatest === 0) break;
      from = read.next;
    }
  }
  points.sort((a, b) => a.t - b.t);
  if (points.length <= query.maxPoints) return points;
  const step = points.length / query.maxPoints;
  const thinned: HistoryPoint[] = [];
  for (let i = 0; i < query.maxPoints - 1; i++) thinned.push(points[Math.floor(i * step)]!);
  thinned.push(points[points.length - 1]!);
  return thinned;
}

function parsePoint(data: Uint8Array): HistoryPoint | undefined {
  try {
    const p = JSON.parse(Buffer.from(data).toString('utf8')) as HistoryPoint;
    return typeof p.t === 'number' && typeof p.values === 'object' && p.values !== null ? p : undefined;
  } catch {
    return undefined; // not written by this module: skipped
  }
}

function pick(values: Readonly<Record<string, number>>, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(values)) {
    const brace = key.indexOf('{');
    if (names.includes(brace === -1 ? key : key.slice(0, brace))) out[key] = value;
  }
  return out;
}
