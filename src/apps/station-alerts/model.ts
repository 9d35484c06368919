/**
 * The shapes the station alerts pass around (window records, alerts), the stream, topic and table names,
 * and the calendar of reference slots: day of week 0 (Sunday) to 6 and 30-minute slot 0 to 47, in UTC, as
 * the warehouse's `station_reference` table has them.
 */
import type { TableStore } from '../../tables/index.ts';

export const STREAMS = {
  /** Reference rows, the latest per (plaza_id, day_of_week, slot); partition key plaza_id. */
  reference: 'station_reference',
  /** Every (station, window) with at least one vehicle, written by the query. */
  counts: 'station_window_counts',
  /** Windows below their threshold: from the query, and the evaluator's windows without any vehicle. */
  candidates: 'station_alerts_candidates',
  /** The operator alert stream: one record per alerted (station, window). */
  alerts: 'station_alerts',
} as const;

/** The operator topic (webhook subscriptions). */
export const TOPIC = 'station-alerts';

export const TABLES = {
  /** pk plaza_id, sk `DD:SS` (day of week, slot): the reference rows as the evaluator knows them. */
  reference: 'station_alert_reference',
  /** pk `progress`: how far event time has got and which windows each known station is accounted for. */
  state: 'station_alert_state',
  /** pk `alerts`, sk `<window_start>/<plaza_id>`: every alert raised, for listing. */
  alerts: 'station_alerts',
} as const;

export const SLOT_MS = 30 * 60_000;

/** One window of one station, as the query writes it (and the evaluator, for a window without vehicles). */
export interface WindowRecord {
  readonly plaza_id: string;
  /** ISO 8601, UTC. */
  readonly window_start: string;
  readonly window_end: string;
  readonly vehicle_count: number;
  readonly expected_count: number;
  readonly alert_threshold: number;
  /** `station`: the station's reference row; `default`: none, the configured defaults were used. */
  readonly reference: string;
}

/** What operators receive: on the topic (webhooks), in the alert stream and in `GET /v1/operator/alerts`. */
export interface StationAlert {
  readonly [key: string]: string | number;
  readonly type: 'station_traffic_low';
  readonly plaza_id: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly vehicle_count: number;
  readonly expected_count: number;
  readonly alert_threshold: number;
  readonly reference: string;
  /** `below_threshold`: fewer vehicles than the threshold; `no_traffic`: none at all in the window. */
  readonly cause: 'below_threshold' | 'no_traffic';
}

/**
 * An alert as listed: once an operator acknowledged it (`POST /v1/operator/alerts/acknowledge`) it also has
 * `acknowledged_at` (ISO 8601) and `acknowledged_by` (as they said, `operator` when they did not).
 */
export type ListedStationAlert = StationAlert & { readonly acknowledged_at?: string; readonly acknowledged_by?: string };

export type ReferenceItem = {
  readonly expected_count: number;
  readonly alert_threshold: number;
};

export type ProgressItem = {
  /** End (ms) of the latest window any station was counted in: every earlier window is complete. */
  readonly max_end: number | null;
  /**
   * End (ms) of the first window ever counted. That window holds only the part after the feed started, so no
   * alert is raised for it or before it; a station known only from reference data is judged after it.
   */
  readonly first_end: number | null;
  /** Per known station, the end (ms) of the last window it is accounted for; null before its first. */
  readonly stations: Readonly<Record<string, number | null>>;
};

/** Exactly one alert per station and window: the notification's idempotency key. */
export function alertKey(plazaId: string, windowStart: string): string {
  return `station:${plazaId}:${windowStart}`;
}

export function slotOf(ms: number): { dayOfWeek: number; slot: number } {
  const d = new Date(ms);
  return { dayOfWeek: d.getUTCDay(), slot: d.getUTCHours() * 2 + Math.floor(d.getUTCMinutes() / 30) };
}

export function referenceSortKey(dayOfWeek: number, slot: number): string {
  return `${dayOfWeek}:${String(slot).padStart(2, '0')}`;
}

/** Plaza ids become attribute names in the progress item: keep them to characters that cannot nest. */
export const PLAZA_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Creates the app's tables where missing (on SQLite or PostgreSQL). */
export async function ensureTables(store: TableStore): Promise<void> {
  await store.createTable(TABLES.reference, { sortKey: true, ifNotExists: true });
  await store.createTable(TABLES.state, { ifNotExists: true });
  await store.createTable(TABLES.alerts, { sortKey: true, ifNotExists: true });
}
