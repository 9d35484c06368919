/**
 * The continuous query of the SQL path: `sql/customer-spend.sql` with the window length and time zone filled
 * in, created on the server's query manager when missing. The query reads the validated tolls and writes one
 * row per customer, day (hence month) of event time and window of arrival time to `customer_spend`.
 */
import fs from 'node:fs';
import { checkSetting } from '../../config/index.ts';
import { isTollstreamError, TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { CreateQueryRequest, QueryInfo } from '../../queries/index.ts';
import { assertTimeZone } from './calendar.ts';
import { SPEND_ALERTS_SECTION } from './settings.ts';

/** What the SQL path needs of the query manager (`QueryManager` has it). */
export interface SpendQueries {
  createQuery(request: CreateQueryRequest): Promise<QueryInfo>;
  /** Throws NOT_FOUND for an unknown query. */
  info(name: string): QueryInfo;
}

export interface SpendQueryOptions {
  /** Length of the processing-time window, in seconds (the range of alerts.windowSeconds). */
  readonly windowSeconds: number;
  /** IANA zone in which months and days begin. */
  readonly timeZone: string;
}

/** The SQL input name of the query (Kinesis Data Analytics' application input). */
export const SPEND_QUERY_INPUT = 'SOURCE_SQL_STREAM_001';
/** The SQL output name of the query. */
export const SPEND_QUERY_OUTPUT = 'DESTINATION_SQL_STREAM';

const TEMPLATE_URL = new URL('./sql/customer-spend.sql', import.meta.url);
let template: string | undefined;

/** The SQL text of the customer spend query for these settings. */
export function customerSpendSql(options: SpendQueryOptions): string {
  const { windowSeconds, timeZone } = options;
  checkSetting('alerts.windowSeconds', windowSeconds, 'customer spend query', SPEND_ALERTS_SECTION);
  assertTimeZone(timeZone);
  template ??= fs.readFileSync(TEMPLATE_URL, 'utf8');
  const values: Record<string, string> = { WINDOW_SECONDS: sqlString(String(windowSeconds)), TIME_ZONE: sqlString(timeZone) };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new TollstreamError('INTERNAL', `customer-spend.sql names an unknown parameter {{${name}}}`);
    return value;
  });
}

/**
 * Creates the query `name` reading `input` and writing `output` when it does not exist. An existing query
 * with other SQL is refused: its open windows and checkpoint belong to the old settings, and a new query
 * would start over from the beginning of its input and count every retained toll again.
 */
export async function ensureSpendQuery(
  queries: SpendQueries,
  request: { readonly name: string; readonly input: string; readonly output: string } & SpendQueryOptions,
  logger: Logger,
): Promise<QueryInfo> {
  const sql = customerSpendSql(request);
  let existing: QueryInfo | undefined;
  try {
    existing = queries.info(request.name);
  } catch (err) {
    if (!isTollstreamError(err, 'NOT_FOUND')) throw err;
  }
  if (existing === undefined) {
    try {
      return await queries.createQuery({ name: request.name, sql, input: request.input, outputs: { [SPEND_QUERY_OUTPUT]: request.output } });
    } catch (err) {
      // Created by someone else since we looked.
      if (!isTollstreamError(err, 'QUERY_EXISTS')) throw err;
      existing = queries.info(request.name);
    }
  }
  if (existing.sql !== sql) {
    throw new TollstreamError(
      'CONFIG_INVALID',
      `query "${request.name}" runs with another window length or time zone than alerts.windowSeconds = ${request.windowSeconds} and alerts.timeZone = '${request.timeZone}'. ` +
        'Put the settings back, or start on a fresh data directory: replacing the query would count the retained tolls again.',
      { context: { key: 'alerts.windowSeconds', query: request.name } },
    );
  }
  const boundInput = existing.inputs.find((i) => i.name === SPEND_QUERY_INPUT)?.stream;
  const boundOutput = existing.outputs.find((o) => o.name === SPEND_QUERY_OUTPUT)?.stream;
  if (boundInput !== request.input || boundOutput !== request.output) {
    throw new TollstreamError(
      'CONFIG_INVALID',
      `query "${request.name}" reads "${boundInput ?? '?'}" and writes "${boundOutput ?? '?'}", not "${request.input}" and "${request.output}" as the spend alerts expect`,
      { context: { key: 'alerts', query: request.name } },
    );
  }
  if (existing.state === 'STOPPED' || existing.state === 'FAILED') {
    logger.warn('the customer spend query is not running: totals and breach notifications wait until it is resumed', {
      query: request.name,
      state: existing.state,
      error: existing.error,
    });
  }
  return existing;
}

/** A SQL string literal (quotes doubled). */
function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
