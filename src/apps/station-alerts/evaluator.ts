/**
 * Windows without any vehicle. A window with no rows produces no aggregate row, so the query cannot say a
 * station was silent; the evaluator can. It follows `station_window_counts` (every window that saw traffic,
 * in event-time order: the query emits a window once its watermark passes) and keeps, per known station,
 * the end of the last window it is accounted for. The first window ever counted is never judged: the feed
 * started somewhere inside it, so its counts are partial. When the first count of a later window arrives, every
 * earlier window is complete, and each known station without a count in it is checked against its
 * threshold with a count of 0. Known stations are those of the reference data and those ever counted.
 *
 * A second handler mirrors the `station_reference` stream into a table the evaluator reads thresholds from.
 */
import type { FunctionHandler, FunctionRecord } from '../../functions/index.ts';
import type { StoreOps } from '../../tables/index.ts';
import { appendAll, type StreamLog } from '../../log/index.ts';
import { PLAZA_ID, referenceSortKey, slotOf, STREAMS, TABLES, type ProgressItem, type ReferenceItem, type WindowRecord } from './model.ts';

const PROGRESS_KEY = { pk: 'progress' } as const;

export interface EvaluatorStats {
  windowsCounted: number;
  silentWindowsFlagged: number;
  /** Silent windows not checked because a gap was longer than `maxSilentWindows`. */
  silentWindowsSkipped: number;
  recordsInvalid: number;
}

export interface EvaluatorOptions {
  readonly log: StreamLog;
  readonly windowMs: number;
  /** Expected vehicles and alert threshold of a station slot without a reference row. */
  readonly defaultExpected: number;
  readonly defaultThreshold: number;
  /**
   * Per station and step of event time, at most this many silent windows are checked (the latest ones): a
   * jump of days in event time means the input stopped, not that every station was silent for days.
   */
  readonly maxSilentWindows: number;
  readonly stats: EvaluatorStats;
  readonly warn: (message: string, fields: Record<string, unknown>) => void;
}

export function evaluatorHandler(options: EvaluatorOptions): FunctionHandler {
  const { windowMs, stats } = options;
  return async (event, ctx) => {
    const before = await ctx.tables.get<ProgressItem>(TABLES.state, PROGRESS_KEY);
    const progress = {
      max_end: before?.value.max_end ?? null,
      first_end: before?.value.first_end ?? null,
      stations: { ...(before?.value.stations ?? {}) } as Record<string, number | null>,
    };
    const silent: WindowRecord[] = [];
    let counted = 0;
    let invalid = 0;
    for (const record of event.records) {
      const window = parseCount(record);
      if (typeof window === 'string') {
        invalid++;
        options.warn('a station window count is not usable and is skipped', { reason: window, sequenceNumber: record.sequenceNumber });
        continue;
      }
      counted++;
      const { plaza, endMs } = window;
      progress.first_end ??= endMs;
      if (progress.max_end === null || endMs > progress.max_end) {
        // Every window ending before this one is complete: the query emitted it before this row.
        const lastComplete = endMs - windowMs;
        for (const [station, accounted] of Object.entries(progress.stations)) {
          // A station not yet accounted for starts after the first window: that one is only partly in the log.
          const from = accounted ?? progress.first_end;
          if (lastComplete <= from) continue;
          silent.push(...(await silentWindows(options, ctx.tables, station, from, lastComplete)));
          progress.stations[station] = lastComplete;
        }
        progress.max_end = endMs;
      }
      const accounted = progress.stations[plaza];
      if (accounted === undefined || accounted === null || endMs > accounted) progress.stations[plaza] = endMs;
    }

    if (silent.length > 0) await appendCandidates(options.log, silent);
    await ctx.transact(async (tx) => {
      // Fails with CONDITION_FAILED (and the batch is retried) if the reference mirror registered a station meanwhile.
      await tx.put(TABLES.state, PROGRESS_KEY, progress, { condition: before ? { version: before.version } : { item: 'absent' } });
    });
    stats.windowsCounted += counted;
    stats.silentWindowsFlagged += silent.length;
    stats.recordsInvalid += invalid;
  };
}

/** The windows of `station` ending in (from, to] that are below its threshold with no vehicle at all. */
async function silentWindows(options: EvaluatorOptions, tables: StoreOps, station: string, from: number, to: number): Promise<WindowRecord[]> {
  const { windowMs } = options;
  let first = from + windowMs;
  const windows = Math.floor((to - from) / windowMs);
  if (windows > options.maxSilentWindows) {
    options.stats.silentWindowsSkipped += windows - options.maxSilentWindows;
    first = to - (options.maxSilentWindows - 1) * windowMs;
  }
  const out: WindowRecord[] = [];
  for (let end = first; end <= to; end += windowMs) {
    const start = end - windowMs;
    const { dayOfWeek, slot } = slotOf(start);
    const ref = (await tables.get<ReferenceItem>(TABLES.reference, { pk: station, sk: referenceSortKey(dayOfWeek, slot) }))?.value;
    const threshold = ref?.alert_threshold ?? options.defaultThreshold;
    if (!(0 < threshold)) continue;
    out.push({
      plaza_id: station,
      window_start: new Date(start).toISOString(),
      window_end: new Date(end).toISOString(),
      vehicle_count: 0,
      expected_count: ref?.expected_count ?? options.defaultExpected,
      alert_threshold: threshold,
      reference: ref ? 'station' : 'default',
    });
  }
  return out;
}

/**
 * Before the batch's transaction: a crash in between appends them again on redelivery with the same keys,
 * which the candidates stream's key dedupe drops (and the notifier's key would anyway).
 */
async function appendCandidates(log: StreamLog, windows: readonly WindowRecord[]): Promise<void> {
  await appendAll(
    log,
    STREAMS.candidates,
    windows.map((w) => ({ data: Buffer.from(JSON.stringify(w)), partitionKey: w.plaza_id, idempotencyKey: `silent:${w.plaza_id}:${w.window_start}` })),
    'append silent windows',
  );
}

function parseCount(record: FunctionRecord): { plaza: string; endMs: number } | string {
  let value: unknown;
  try {
    value = record.json();
  } catch {
    return 'the record is not JSON';
  }
  if (typeof value !== 'object' || value === null) return 'the record is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.plaza_id !== 'string' || !PLAZA_ID.test(v.plaza_id)) return `plaza_id must match ${PLAZA_ID}`;
  const endMs = typeof v.window_end === 'string' ? Date.parse(v.window_end) : NaN;
  if (!Number.isFinite(endMs)) return 'window_end must be an ISO 8601 time';
  return { plaza: v.plaza_id, endMs };
}

/**
 * Mirrors `station_reference` into the reference table, and makes each station it names known to the
 * evaluator from the windows that are still to come (a station added today is not flagged for last week).
 */
export function referenceMirrorHandler(warn: EvaluatorOptions['warn']): FunctionHandler {
  return async (event, ctx) => {
    await ctx.transact(async (tx) => {
      for (const record of event.records) {
        const row = parseReference(record);
        if (typeof row === 'string') {
          warn('a station reference record is not usable and is skipped', { reason: row, sequenceNumber: record.sequenceNumber });
          continue;
        }
        const key = { pk: row.plaza_id, sk: referenceSortKey(row.day_of_week, row.slot) };
        if (row.deleted) await tx.delete(TABLES.reference, key);
        else await tx.put(TABLES.reference, key, { expected_count: row.expected_count, alert_threshold: row.alert_threshold });
        const progress = (await tx.get<ProgressItem>(TABLES.state, PROGRESS_KEY))?.value;
        if (progress?.stations?.[row.plaza_id] === undefined) {
          await tx.update(TABLES.state, PROGRESS_KEY, { set: { [`stations.${row.plaza_id}`]: progress?.max_end ?? null } });
        }
      }
    });
  };
}

function parseReference(record: FunctionRecord): { plaza_id: string; day_of_week: number; slot: number; expected_count: number; alert_threshold: number; deleted: boolean } | string {
  let value: unknown;
  try {
    value = record.json();
  } catch {
    return 'the record is not JSON';
  }
  if (typeof value !== 'object' || value === null) return 'the record is not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.plaza_id !== 'string' || !PLAZA_ID.test(v.plaza_id)) return `plaza_id must match ${PLAZA_ID}`;
  if (!isInt(v.day_of_week, 0, 6)) return 'day_of_week must be 0 (Sunday) to 6';
  if (!isInt(v.slot, 0, 47)) return 'slot must be 0 to 47';
  const deleted = v._deleted === true;
  if (!deleted && (!isInt(v.expected_count, 0, Number.MAX_SAFE_INTEGER) || !isInt(v.alert_threshold, 0, Number.MAX_SAFE_INTEGER))) {
    return 'expected_count and alert_threshold must be whole numbers, 0 or more';
  }
  return {
    plaza_id: v.plaza_id,
    day_of_week: v.day_of_week as number,
    slot: v.slot as number,
    expected_count: (v.expected_count as number | undefined) ?? 0,
    alert_threshold: (v.alert_threshold as number | undefined) ?? 0,
    deleted,
  };
}

function isInt(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}
