/**
 * The continuous query shipped with the station alerts: `sql/station-windows.sql`, its placeholders filled
 * with whole numbers and a stream name from the config, created in the query manager (or replaced when the
 * config changed what it says).
 */
import { readFileSync } from 'node:fs';
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { STREAM_NAME } from '../../log/index.ts';
import type { QueryManager } from '../../queries/index.ts';

export const QUERY_NAME = 'station_alerts';

const TEMPLATE_URL = new URL('./sql/station-windows.sql', import.meta.url);

export interface QueryParameters {
  readonly transactionsStream: string;
  readonly windowMinutes: number;
  readonly defaultExpected: number;
  readonly defaultThreshold: number;
  /** How far behind the newest event time a vehicle may still arrive and be counted, in seconds. */
  readonly latenessSeconds: number;
}

/** The query text: placeholders are replaced only by checked integers and a checked stream name. */
export function renderStationQuery(params: QueryParameters, template = readFileSync(TEMPLATE_URL, 'utf8')): string {
  if (!STREAM_NAME.test(params.transactionsStream)) {
    throw new TollstreamError('CONFIG_INVALID', `the transactions stream name '${params.transactionsStream}' is not a stream name`, { context: { key: 'delivery.stream' } });
  }
  const values: Record<string, string> = {
    transactions_stream: params.transactionsStream,
    window_minutes: wholeNumber('stationAlerts.windowMinutes', params.windowMinutes),
    default_expected: wholeNumber('stationAlerts.defaultExpected', params.defaultExpected),
    default_threshold: wholeNumber('stationAlerts.defaultThreshold', params.defaultThreshold),
    lateness_seconds: wholeNumber('stationAlerts.latenessSeconds', params.latenessSeconds),
  };
  return template.replace(/\{\{([a-z_]+)\}\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new TollstreamError('INTERNAL', `the station alerts query names an unknown placeholder {{${name}}}`);
    return value;
  });
}

/**
 * Creates the query, or leaves it running when its stored SQL is the one wanted. A stored query with other
 * SQL (the window size or defaults changed) is dropped and created again: its windows start over.
 */
export async function ensureStationQuery(queries: QueryManager, sql: string, logger: Logger): Promise<void> {
  const existing = queries.listQueries().find((q) => q.name === QUERY_NAME);
  if (existing && existing.sql === sql) {
    if (existing.state === 'STOPPED' || existing.state === 'FAILED') {
      logger.warn('the station alerts query is not running; resume it with: tollstream queries resume station_alerts', { state: existing.state });
    }
    return;
  }
  if (existing) {
    logger.warn('the station alerts config changed: the query is created again and its open windows start over', { query: QUERY_NAME });
    await queries.dropQuery(QUERY_NAME);
  }
  await queries.createQuery({ name: QUERY_NAME, sql });
}

function wholeNumber(key: string, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TollstreamError('CONFIG_INVALID', `${key} must be a whole number, 0 or more (got ${value})`, { context: { key } });
  }
  return String(value);
}
