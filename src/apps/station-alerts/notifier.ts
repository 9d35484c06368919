/**
 * The one way an alert is raised: every candidate (a window below its threshold from the query, a window
 * without vehicles from the evaluator) goes through this handler, which appends the alert to the operator
 * alert stream and, in the batch's table transaction, records it and publishes it on the operator topic
 * with the key `station:<plaza>:<window_start>`: exactly one alert per station and window.
 */
import type { FunctionHandler, FunctionRecord } from '../../functions/index.ts';
import { appendAll, type StreamLog } from '../../log/index.ts';
import { alertKey, PLAZA_ID, STREAMS, TABLES, TOPIC, type ProgressItem, type StationAlert } from './model.ts';

export interface NotifierStats {
  alertsRaised: number;
  recordsInvalid: number;
}

export interface NotifierOptions {
  readonly log: StreamLog;
  readonly stats: NotifierStats;
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
}

export const ALERTS_PK = 'alerts';

export function alertSortKey(alert: Pick<StationAlert, 'window_start' | 'plaza_id'>): string {
  return `${alert.window_start}/${alert.plaza_id}`;
}

export function notifierHandler(options: NotifierOptions): FunctionHandler {
  const { stats } = options;
  return async (event, ctx) => {
    // The first window ever counted is partial (see ProgressItem.first_end): wait until the evaluator knows it.
    const firstEnd = (await ctx.tables.get<ProgressItem>(TABLES.state, { pk: 'progress' }))?.value.first_end ?? null;
    if (firstEnd === null) return { batchItemFailures: [{ itemIdentifier: event.records[0]!.sequenceNumber }] };
    const fresh = new Map<string, StationAlert>();
    for (const record of event.records) {
      const alert = parseCandidate(record);
      if (typeof alert === 'string') {
        stats.recordsInvalid++;
        options.warn('a station alert candidate is not usable and is skipped', { reason: alert, sequenceNumber: record.sequenceNumber });
        continue;
      }
      if (Date.parse(alert.window_end) <= firstEnd) continue;
      const key = alertKey(alert.plaza_id, alert.window_start);
      if (fresh.has(key) || (await ctx.tables.get(TABLES.alerts, { pk: ALERTS_PK, sk: alertSortKey(alert) }))) continue;
      fresh.set(key, alert);
    }
    if (fresh.size > 0) await appendAlerts(options.log, fresh);
    const raised = await ctx.transact(async (tx) => {
      let n = 0;
      for (const [key, alert] of fresh) {
        const sk = alertSortKey(alert);
        if (await tx.get(TABLES.alerts, { pk: ALERTS_PK, sk })) continue;
        await tx.put(TABLES.alerts, { pk: ALERTS_PK, sk }, alert);
        await tx.publish(TOPIC, alert, { idempotencyKey: key });
        n++;
      }
      return n;
    });
    stats.alertsRaised += raised;
  };
}

/** Before the transaction; a redelivered batch appends them again with the same keys, which the stream drops. */
async function appendAlerts(log: StreamLog, alerts: ReadonlyMap<string, StationAlert>): Promise<void> {
  const records = [...alerts].map(([key, alert]) => ({ data: Buffer.from(JSON.stringify(alert)), partitionKey: alert.plaza_id, idempotencyKey: key }));
  await appendAll(log, STREAMS.alerts, records, 'append station alerts');
}

function parseCandidate(record: FunctionRecord): StationAlert | string {
  let value: unknown;
  try {
    value = record.json();
  } catch {
    return 'the record is not JSON';
  }
  if (typeof value !== 'object' || value === null) return 'the record is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.plaza_id !== 'string' || !PLAZA_ID.test(v.plaza_id)) return `plaza_id must match ${PLAZA_ID}`;
  for (const field of ['window_start', 'window_end'] as const) {
    if (typeof v[field] !== 'string' || !Number.isFinite(Date.parse(v[field]))) return `${field} must be an ISO 8601 time`;
  }
  for (const field of ['vehicle_count', 'expected_count', 'alert_threshold'] as const) {
    if (typeof v[field] !== 'number' || !Number.isSafeInteger(v[field]) || v[field] < 0) return `${field} must be a whole number, 0 or more`;
  }
  const count = v.vehicle_count as number;
  return {
    type: 'station_traffic_low',
    plaza_id: v.plaza_id,
    window_start: v.window_start as string,
    window_end: v.window_end as string,
    vehicle_count: count,
    expected_count: v.expected_count as number,
    alert_threshold: v.alert_threshold as number,
    reference: typeof v.reference === 'string' ? v.reference : 'station',
    cause: count === 0 ? 'no_traffic' : 'below_threshold',
  };
}
