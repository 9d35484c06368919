/**
 * `startSpendAlerts`: wires the ABC Tolls spending alerts onto a running log, tables, notifications and
 * functions runtime. It creates what is missing (streams, tables, the inbox topic) and starts the spend
 * mapping(s).
 *
 * The source is a switch: `sql` (what the server runs) checks each toll into `toll_transactions_valid`, the
 * continuous query `sql/customer-spend.sql` sums it per customer, month and processing-time window into
 * `customer_spend`, and the threshold function sums those windows; `transactions` sums `toll_transactions`
 * directly; `windows` only sums `customer_spend` (written by a job run elsewhere); `both` runs `transactions`
 * and `windows` during a switch, split at `cutoverAt` (see docs/abc-tolls.md).
 */
import { checkSetting } from '../../config/index.ts';
import { TollstreamError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { FunctionHandler, FunctionsRuntime, StartingPosition } from '../../functions/index.ts';
import { ensureStream, type StreamConfig, type StreamLog } from '../../log/index.ts';
import type { Notifications } from '../../notify/index.ts';
import type { TableStore } from '../../tables/index.ts';
import { DEFAULT_TOPIC, SpendLedger } from './ledger.ts';
import { transactionsHandler, windowsHandler, type SpendPathStats } from './spend-function.ts';
import { ensureSpendQuery, type SpendQueries } from './spend-query.ts';
import { SPEND_ALERTS_DEFAULTS, SPEND_ALERTS_SECTION, type SpendAlertsSettings } from './settings.ts';
import { ensureStoreTables, TABLES, type CounterItem } from './tables.ts';
import { validationHandler } from './validate-function.ts';
import { WindowCloser } from './window-closer.ts';

/**
 * The sources the library offers beyond the server's (`alerts.source`, whose values the config schema checks):
 * `windows` and `both` serve a switch driven from code, `both` with a `cutoverAt` the config file has no key for.
 */
const LIBRARY_ONLY_SOURCES = ['windows', 'both'] as const;
export type SpendSourceKind = SpendAlertsSettings['source'] | (typeof LIBRARY_ONLY_SOURCES)[number];

export interface SpendAlertsConfig {
  /** IANA zone in which months and days begin. @default alerts.timeZone's default, 'UTC' */
  readonly timeZone?: string;
  /** Which stream feeds the totals. `sql` needs `queries`; `both` needs `cutoverAt`. @default alerts.source's default, 'sql' */
  readonly source?: SpendSourceKind;
  /** Length of the processing-time windows of the `sql` source, in seconds (range of alerts.windowSeconds). @default alerts.windowSeconds's default, 1 */
  readonly windowSeconds?: number;
  /** Valid tolls for the query (`sql` source). @default '<transactionsStream>_valid' */
  readonly validStream?: string;
  /** The continuous query of the `sql` source. @default 'abc-tolls-customer-spend' */
  readonly queryName?: string;
  /** ms since the epoch: transactions before it, windows starting at or after it. Required with `source: 'both'`. */
  readonly cutoverAt?: number;
  /** @default 'toll_transactions' */
  readonly transactionsStream?: string;
  /** @default 'customer_spend' */
  readonly spendStream?: string;
  /** Invalid toll transactions go here. @default '<transactionsStream>_errors' */
  readonly transactionsErrorStream?: string;
  /** Invalid window records go here. @default '<spendStream>_errors' */
  readonly spendErrorStream?: string;
  /** The inbox topic of breach notifications. @default 'spend-alerts' */
  readonly topic?: string;
  /** Only this currency is summed; other records are invalid. `null` accepts any. @default alerts.currency's default, 'USD' */
  readonly currency?: string | null;
  /**
   * Amounts above this, in cents, of one toll or one window are invalid records; it keeps a garbage amount from
   * overflowing a month's total (which would fail its batch forever). `null` for no limit.
   * @default 100000000 ($1,000,000)
   */
  readonly maxAmountCents?: number | null;
  /** Records per invocation. @default 500 */
  readonly batchSize?: number;
  /**
   * Window records per invocation of the threshold function (`customer_spend`). Larger than `batchSize`: each
   * invocation is one tables transaction, and a commit costs about the pages it dirtied, which batches of many
   * customers share. @default 2000
   */
  readonly windowBatchSize?: number;
  /** Where a mapping without a checkpoint starts. @default 'TRIM_HORIZON' */
  readonly startingPosition?: StartingPosition;
  /** Shards of source streams this creates (existing streams are left as they are). @default 2 */
  readonly shardCount?: number;
  /** Prefix of the mapping names (they name the checkpoints: renaming starts afresh). @default 'abc-tolls-spend' */
  readonly mappingName?: string;
}

export interface ResolvedSpendAlertsConfig {
  readonly timeZone: string;
  readonly source: SpendSourceKind;
  readonly windowSeconds: number;
  readonly validStream: string;
  readonly queryName: string;
  readonly cutoverAt: number | undefined;
  readonly transactionsStream: string;
  readonly spendStream: string;
  readonly transactionsErrorStream: string;
  readonly spendErrorStream: string;
  readonly topic: string;
  readonly currency: string | undefined;
  readonly maxAmountCents: number | undefined;
  readonly batchSize: number;
  readonly windowBatchSize: number;
  readonly startingPosition: StartingPosition;
  readonly shardCount: number;
  readonly mappingName: string;
}

export interface SpendAlertsDeps {
  readonly log: StreamLog;
  /** The tables of the app's state (SQLite or PostgreSQL): the store `functions` commits to. */
  readonly store: TableStore;
  readonly notify: Notifications;
  readonly functions: FunctionsRuntime;
  /** The query manager; required by the `sql` source, which creates its query there when missing. */
  readonly queries?: SpendQueries;
  readonly config?: SpendAlertsConfig;
  readonly logger?: Logger;
}

export interface SpendAlerts {
  readonly config: ResolvedSpendAlertsConfig;
  readonly ledger: SpendLedger;
  /** The mapping names started (`<mappingName>-validate`, `<mappingName>-transactions`, `<mappingName>-windows`). */
  readonly mappings: readonly string[];
  /** Counters of each running path since start. */
  stats(): readonly SpendPathStats[];
  /** Records of `stream` sent to its error stream, over all runs (persisted with the totals). */
  invalidCount(stream?: string): Promise<number>;
  /** Stops the mappings (waits for invocations in flight); the runtime and stores stay open. */
  stop(): Promise<void>;
}

const CONFIG_KEYS = new Set([
  'timeZone',
  'source',
  'windowSeconds',
  'validStream',
  'queryName',
  'cutoverAt',
  'transactionsStream',
  'spendStream',
  'transactionsErrorStream',
  'spendErrorStream',
  'topic',
  'currency',
  'maxAmountCents',
  'batchSize',
  'windowBatchSize',
  'startingPosition',
  'shardCount',
  'mappingName',
]);

export function resolveSpendAlertsConfig(config: SpendAlertsConfig = {}): ResolvedSpendAlertsConfig {
  const unknown = Object.keys(config).find((k) => !CONFIG_KEYS.has(k));
  if (unknown) throw configInvalid(unknown, `unknown key '${unknown}' in the spend alerts config`);
  // The library's defaults are the server's (alerts.source, alerts.windowSeconds, ...): one source, the app's section.
  const source = config.source ?? SPEND_ALERTS_DEFAULTS.source;
  if (!(LIBRARY_ONLY_SOURCES as readonly string[]).includes(source)) {
    checkSetting('alerts.source', source, `spend alerts config, which also takes ${LIBRARY_ONLY_SOURCES.map((s) => `'${s}'`).join(' and ')}`, SPEND_ALERTS_SECTION);
  }
  const windowSeconds = config.windowSeconds ?? SPEND_ALERTS_DEFAULTS.windowSeconds;
  checkSetting('alerts.windowSeconds', windowSeconds, 'spend alerts config', SPEND_ALERTS_SECTION);
  if (source === 'sql' && config.cutoverAt !== undefined) throw configInvalid('cutoverAt', "cutoverAt splits source 'both'; source 'sql' takes none");
  if (config.cutoverAt !== undefined && !Number.isSafeInteger(config.cutoverAt)) throw configInvalid('cutoverAt', 'cutoverAt must be a time in ms since the epoch');
  if (source === 'both' && config.cutoverAt === undefined) {
    throw configInvalid('cutoverAt', "source 'both' needs cutoverAt: the event time from which windows count instead of transactions");
  }
  const currency = config.currency === null ? undefined : (config.currency ?? SPEND_ALERTS_DEFAULTS.currency);
  if (currency !== undefined) checkSetting('alerts.currency', currency, 'spend alerts config (null accepts any currency)', SPEND_ALERTS_SECTION);
  const maxAmountCents = config.maxAmountCents === null ? undefined : (config.maxAmountCents ?? 100_000_000);
  if (maxAmountCents !== undefined && !(Number.isSafeInteger(maxAmountCents) && maxAmountCents >= 0)) {
    throw configInvalid('maxAmountCents', 'maxAmountCents must be a whole number of cents, or null for no limit');
  }
  const batchSize = config.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw configInvalid('batchSize', 'batchSize must be an integer from 1 to 10000');
  const windowBatchSize = config.windowBatchSize ?? 2000;
  if (!Number.isInteger(windowBatchSize) || windowBatchSize < 1 || windowBatchSize > 10_000) {
    throw configInvalid('windowBatchSize', 'windowBatchSize must be an integer from 1 to 10000');
  }
  const shardCount = config.shardCount ?? 2;
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 1024) throw configInvalid('shardCount', 'shardCount must be an integer from 1 to 1024');
  const transactionsStream = config.transactionsStream ?? 'toll_transactions';
  const spendStream = config.spendStream ?? 'customer_spend';
  return {
    timeZone: config.timeZone ?? SPEND_ALERTS_DEFAULTS.timeZone,
    source,
    windowSeconds,
    validStream: config.validStream ?? `${transactionsStream}_valid`,
    queryName: config.queryName ?? 'abc-tolls-customer-spend',
    cutoverAt: config.cutoverAt,
    transactionsStream,
    spendStream,
    transactionsErrorStream: config.transactionsErrorStream ?? `${transactionsStream}_errors`,
    spendErrorStream: config.spendErrorStream ?? `${spendStream}_errors`,
    topic: config.topic ?? DEFAULT_TOPIC,
    currency,
    maxAmountCents,
    batchSize,
    windowBatchSize,
    startingPosition: config.startingPosition ?? 'TRIM_HORIZON',
    shardCount,
    mappingName: config.mappingName ?? 'abc-tolls-spend',
  };
}

export async function startSpendAlerts(deps: SpendAlertsDeps): Promise<SpendAlerts> {
  const { log, store, notify, functions } = deps;
  const logger = (deps.logger ?? silentLogger).child({ component: 'abc-tolls' });
  const config = resolveSpendAlertsConfig(deps.config);
  const ledger = new SpendLedger({ timeZone: config.timeZone, topic: config.topic });
  const names = { validate: `${config.mappingName}-validate`, transactions: `${config.mappingName}-transactions`, windows: `${config.mappingName}-windows` };
  if (config.source === 'sql' && deps.queries === undefined) throw configInvalid('source', "source 'sql' runs a continuous query: pass the query manager as `queries`");

  await ensureStoreTables(store);
  await refuseSourceSwitch(store, config.source, names);
  await notify.createTopic(config.topic, { kind: 'inbox', customerField: 'customer_id', ifNotExists: true });

  const allStats: SpendPathStats[] = [];
  const started: string[] = [];
  let closer: WindowCloser | undefined;
  const newStats = (stream: string): SpendPathStats => {
    const stats: SpendPathStats = { stream, recordsApplied: 0, recordsInvalid: 0, recordsOutsideCutover: 0, breachesPublished: 0 };
    allStats.push(stats);
    return stats;
  };
  const limits = {
    ...(config.currency !== undefined ? { currency: config.currency } : {}),
    ...(config.maxAmountCents !== undefined ? { maxAmountCents: config.maxAmountCents } : {}),
  };
  const startMapping = async (name: string, stream: string, handler: FunctionHandler, batchSize = config.batchSize) => {
    await functions.start({ name, stream, handler, batchSize, startingPosition: config.startingPosition });
    started.push(name);
    logger.info('spend alerts started', { mapping: name, stream, timeZone: config.timeZone, topic: config.topic });
  };
  const stopAll = async () => {
    await closer?.stop();
    for (const name of started) await functions.stop(name);
  };

  try {
    const usesTransactions = config.source !== 'windows';
    const usesWindows = config.source !== 'transactions';
    if (usesTransactions) {
      // A retried toll must not count twice: the transactions stream dedupes by transaction_id, as the default config declares it.
      const description = await ensureStream(log, config.transactionsStream, {
        shardCount: config.shardCount,
        dedupe: { mode: 'field', field: 'transaction_id', windowSeconds: 3600 },
      });
      if (description.dedupe?.field !== 'transaction_id') {
        logger.warn('the transactions stream does not dedupe by transaction_id: a producer retry will be counted twice', { stream: config.transactionsStream });
      }
      // Keyed dedupe drops the error records a redelivered batch sends again.
      await ensureStream(log, config.transactionsErrorStream, { shardCount: 1, dedupe: { mode: 'key', windowSeconds: 3600 } });
    }
    if (config.source === 'sql') {
      // One shard: ROWTIME is then exactly the arrival time, so a replay after a crash puts every toll in the
      // window it was in before. Key dedupe (by transaction_id) drops what a redelivered batch passes on again.
      const valid = await ensureStream(log, config.validStream, { shardCount: 1, dedupe: { mode: 'key', windowSeconds: 3600 } });
      if (valid.dedupe?.mode !== 'key') logger.warn('the valid tolls stream has no key dedupe: a redelivered batch will be counted twice', { stream: config.validStream });
      if (valid.openShardCount !== 1) logger.warn('the valid tolls stream has more than one shard: after a crash a toll near a window boundary can be counted twice', { stream: config.validStream });
      // The query creates customer_spend with key dedupe, so its re-emitted rows after a crash are stored once.
      await ensureSpendQuery(
        deps.queries!,
        { name: config.queryName, input: config.validStream, output: config.spendStream, windowSeconds: config.windowSeconds, timeZone: config.timeZone },
        logger,
      );
    }
    if (usesTransactions && config.source !== 'sql') {
      const options = { ledger, log, errorStream: config.transactionsErrorStream, stats: newStats(config.transactionsStream), ...limits, ...cutover(config) };
      await startMapping(names.transactions, config.transactionsStream, transactionsHandler(options));
    }
    if (usesWindows) {
      await ensureStream(log, config.spendStream, { shardCount: config.shardCount, dedupe: { mode: 'key', windowSeconds: 3600 } });
      await ensureStream(log, config.spendErrorStream, { shardCount: 1, dedupe: { mode: 'key', windowSeconds: 3600 } });
      // On the SQL path every toll was held to the limit already; a window of many tolls may sum past it.
      const windowLimits = config.source === 'sql' ? {} : limits;
      const options = { ledger, log, errorStream: config.spendErrorStream, stats: newStats(config.spendStream), ...windowLimits, ...cutover(config) };
      await startMapping(names.windows, config.spendStream, windowsHandler(options), config.windowBatchSize);
    }
    if (config.source === 'sql') {
      closer = new WindowCloser({ log, stream: config.validStream, windowMs: config.windowSeconds * 1000, logger });
      closer.start();
      const c = closer;
      const handler = validationHandler({
        log,
        validStream: config.validStream,
        errorStream: config.transactionsErrorStream,
        stats: newStats(config.transactionsStream),
        onPassed: () => c.notePassed(),
        ...limits,
      });
      await startMapping(names.validate, config.transactionsStream, handler);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    config,
    ledger,
    mappings: started,
    stats: () => allStats.map((s) => ({ ...s })),
    invalidCount: async (stream = config.transactionsStream) =>
      ((await store.get(TABLES.counters, { pk: stream }))?.value as unknown as CounterItem | undefined)?.invalid_records ?? 0,
    stop: stopAll,
  };
}

function cutover(config: ResolvedSpendAlertsConfig): { cutoverAt?: number } {
  return config.cutoverAt !== undefined ? { cutoverAt: config.cutoverAt } : {};
}

/**
 * The SQL path and the direct path each start from the beginning of `toll_transactions` when they first run,
 * so switching one for the other on a deployment that already counted tolls would count them again. A
 * mapping that ran has checkpoints under the consumer `function:<mapping>` (docs/functions.md).
 */
async function refuseSourceSwitch(store: TableStore, source: SpendSourceKind, names: { validate: string; transactions: string }): Promise<void> {
  const ran = async (mapping: string) => (await store.listCheckpoints(`function:${mapping}`)).length > 0;
  const [transactionsRan, validateRan] = [await ran(names.transactions), await ran(names.validate)];
  if (source === 'sql' && transactionsRan && !validateRan) {
    throw configInvalid(
      'source',
      "the spend alerts of this data directory summed toll_transactions directly so far; source 'sql' would count those tolls again. " +
        "Keep alerts.source: 'transactions' here, or start the SQL path on a fresh data directory",
    );
  }
  if ((source === 'transactions' || source === 'both') && validateRan && !transactionsRan) {
    throw configInvalid(
      'source',
      "the spend alerts of this data directory ran on streaming SQL so far; the direct path would count those tolls again. Keep alerts.source: 'sql' here",
    );
  }
}

/** CONFIG_INVALID naming the spend alerts' setting `key`. */
function configInvalid(key: string, message: string): TollstreamError {
  return new TollstreamError('CONFIG_INVALID', message, { context: { key } });
}
