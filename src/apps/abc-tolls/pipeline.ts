/**
 * `startSpendAlerts`: wires the ABC Tolls spending alerts onto a running log, tables, notifications and
 * functions runtime. It creates what is missing (streams, tables, the inbox topic) and starts the spend
 * mapping(s).
 *
 * The source is a switch: `transactions` (today) sums `toll_transactions` directly; `windows` sums the
 * per-customer window totals the streaming SQL job writes to `customer_spend`; `both` runs the two during a
 * switch, split by event time at `cutoverAt` so nothing is counted twice (see docs/abc-tolls.md).
 */
import { isTollstreamError, TollstreamError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { FunctionsRuntime, StartingPosition } from '../../functions/index.ts';
import type { StreamConfig, StreamLog } from '../../log/index.ts';
import type { Notify } from '../../notify/index.ts';
import type { Tables } from '../../tables/index.ts';
import { DEFAULT_TOPIC, SpendLedger } from './ledger.ts';
import { transactionsHandler, windowsHandler, type SpendPathStats } from './spend-function.ts';
import { ensureTables, TABLES, type CounterItem } from './tables.ts';

export type SpendSourceKind = 'transactions' | 'windows' | 'both';

export interface SpendAlertsConfig {
  /** IANA zone in which months and days begin. @default 'UTC' */
  readonly timeZone?: string;
  /** Which stream feeds the totals. `both` needs `cutoverAt`. @default 'transactions' */
  readonly source?: SpendSourceKind;
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
  /** Only this currency is summed; other records are invalid. `null` accepts any. @default 'USD' */
  readonly currency?: string | null;
  /**
   * Amounts above this, in cents, of one toll or one window are invalid records; it keeps a garbage amount from
   * overflowing a month's total (which would fail its batch forever). `null` for no limit.
   * @default 100000000 ($1,000,000)
   */
  readonly maxAmountCents?: number | null;
  /** Records per invocation. @default 500 */
  readonly batchSize?: number;
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
  readonly cutoverAt: number | undefined;
  readonly transactionsStream: string;
  readonly spendStream: string;
  readonly transactionsErrorStream: string;
  readonly spendErrorStream: string;
  readonly topic: string;
  readonly currency: string | undefined;
  readonly maxAmountCents: number | undefined;
  readonly batchSize: number;
  readonly startingPosition: StartingPosition;
  readonly shardCount: number;
  readonly mappingName: string;
}

export interface SpendAlertsDeps {
  readonly log: StreamLog;
  readonly tables: Tables;
  readonly notify: Notify;
  readonly functions: FunctionsRuntime;
  readonly config?: SpendAlertsConfig;
  readonly logger?: Logger;
}

export interface SpendAlerts {
  readonly config: ResolvedSpendAlertsConfig;
  readonly ledger: SpendLedger;
  /** The mapping names started (`<mappingName>-transactions`, `<mappingName>-windows`). */
  readonly mappings: readonly string[];
  /** Counters of each running path since start. */
  stats(): readonly SpendPathStats[];
  /** Records of `stream` sent to its error stream, over all runs (persisted with the totals). */
  invalidCount(stream?: string): number;
  /** Stops the mappings (waits for invocations in flight); the runtime and stores stay open. */
  stop(): Promise<void>;
}

const CONFIG_KEYS = new Set([
  'timeZone',
  'source',
  'cutoverAt',
  'transactionsStream',
  'spendStream',
  'transactionsErrorStream',
  'spendErrorStream',
  'topic',
  'currency',
  'maxAmountCents',
  'batchSize',
  'startingPosition',
  'shardCount',
  'mappingName',
]);

export function resolveSpendAlertsConfig(config: SpendAlertsConfig = {}): ResolvedSpendAlertsConfig {
  const unknown = Object.keys(config).find((k) => !CONFIG_KEYS.has(k));
  if (unknown) throw invalid(unknown, `unknown key '${unknown}' in the spend alerts config`);
  const source = config.source ?? 'transactions';
  if (source !== 'transactions' && source !== 'windows' && source !== 'both') throw invalid('source', "source must be 'transactions', 'windows' or 'both'");
  if (config.cutoverAt !== undefined && !Number.isSafeInteger(config.cutoverAt)) throw invalid('cutoverAt', 'cutoverAt must be a time in ms since the epoch');
  if (source === 'both' && config.cutoverAt === undefined) {
    throw invalid('cutoverAt', "source 'both' needs cutoverAt: the event time from which windows count instead of transactions");
  }
  const currency = config.currency === null ? undefined : (config.currency ?? 'USD');
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) throw invalid('currency', 'currency must be three upper-case letters, or null to accept any');
  const maxAmountCents = config.maxAmountCents === null ? undefined : (config.maxAmountCents ?? 100_000_000);
  if (maxAmountCents !== undefined && !(Number.isSafeInteger(maxAmountCents) && maxAmountCents >= 0)) {
    throw invalid('maxAmountCents', 'maxAmountCents must be a whole number of cents, or null for no limit');
  }
  const batchSize = config.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw invalid('batchSize', 'batchSize must be an integer from 1 to 10000');
  const shardCount = config.shardCount ?? 2;
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 1024) throw invalid('shardCount', 'shardCount must be an integer from 1 to 1024');
  const transactionsStream = config.transactionsStream ?? 'toll_transactions';
  const spendStream = config.spendStream ?? 'customer_spend';
  return {
    timeZone: config.timeZone ?? 'UTC',
    source,
    cutoverAt: config.cutoverAt,
    transactionsStream,
    spendStream,
    transactionsErrorStream: config.transactionsErrorStream ?? `${transactionsStream}_errors`,
    spendErrorStream: config.spendErrorStream ?? `${spendStream}_errors`,
    topic: config.topic ?? DEFAULT_TOPIC,
    currency,
    maxAmountCents,
    batchSize,
    startingPosition: config.startingPosition ?? 'TRIM_HORIZON',
    shardCount,
    mappingName: config.mappingName ?? 'abc-tolls-spend',
  };
}

export async function startSpendAlerts(deps: SpendAlertsDeps): Promise<SpendAlerts> {
  const { log, tables, notify, functions } = deps;
  const logger = (deps.logger ?? silentLogger).child({ component: 'abc-tolls' });
  const config = resolveSpendAlertsConfig(deps.config);
  const ledger = new SpendLedger({ timeZone: config.timeZone, topic: config.topic });

  ensureTables(tables);
  notify.createTopic(config.topic, { kind: 'inbox', customerField: 'customer_id', ifNotExists: true });

  const paths: { stream: string; errorStream: string; mapping: string; windows: boolean }[] = [];
  if (config.source !== 'windows') {
    paths.push({ stream: config.transactionsStream, errorStream: config.transactionsErrorStream, mapping: `${config.mappingName}-transactions`, windows: false });
  }
  if (config.source !== 'transactions') {
    paths.push({ stream: config.spendStream, errorStream: config.spendErrorStream, mapping: `${config.mappingName}-windows`, windows: true });
  }

  const allStats: SpendPathStats[] = [];
  const started: string[] = [];
  try {
    for (const path of paths) {
      // A retried toll must not count twice: the transactions stream dedupes by transaction_id, as the default config declares it.
      const sourceConfig: StreamConfig = path.windows
        ? { shardCount: config.shardCount }
        : { shardCount: config.shardCount, dedupe: { mode: 'field', field: 'transaction_id', windowSeconds: 3600 } };
      const description = await ensureStream(log, path.stream, sourceConfig);
      if (!path.windows && description.dedupe?.field !== 'transaction_id') {
        logger.warn('the transactions stream does not dedupe by transaction_id: a producer retry will be counted twice', { stream: path.stream });
      }
      // Keyed dedupe drops the error records a redelivered batch sends again.
      await ensureStream(log, path.errorStream, { shardCount: 1, dedupe: { mode: 'key', windowSeconds: 3600 } });
      const stats: SpendPathStats = { stream: path.stream, recordsApplied: 0, recordsInvalid: 0, recordsOutsideCutover: 0, breachesPublished: 0 };
      const handlerOptions = {
        ledger,
        log,
        errorStream: path.errorStream,
        stats,
        ...(config.cutoverAt !== undefined ? { cutoverAt: config.cutoverAt } : {}),
        ...(config.currency !== undefined ? { currency: config.currency } : {}),
        ...(config.maxAmountCents !== undefined ? { maxAmountCents: config.maxAmountCents } : {}),
      };
      await functions.start({
        name: path.mapping,
        stream: path.stream,
        handler: path.windows ? windowsHandler(handlerOptions) : transactionsHandler(handlerOptions),
        batchSize: config.batchSize,
        startingPosition: config.startingPosition,
      });
      started.push(path.mapping);
      allStats.push(stats);
      logger.info('spend alerts started', { mapping: path.mapping, stream: path.stream, timeZone: config.timeZone, topic: config.topic });
    }
  } catch (err) {
    for (const name of started) await functions.stop(name);
    throw err;
  }

  return {
    config,
    ledger,
    mappings: started,
    stats: () => allStats.map((s) => ({ ...s })),
    invalidCount: (stream = config.transactionsStream) =>
      (tables.get(TABLES.counters, { pk: stream })?.value as unknown as CounterItem | undefined)?.invalid_records ?? 0,
    stop: async () => {
      for (const name of started) await functions.stop(name);
    },
  };
}

async function ensureStream(log: StreamLog, name: string, config: StreamConfig) {
  try {
    return await log.describeStream(name);
  } catch (err) {
    if (!isTollstreamError(err, 'STREAM_NOT_FOUND')) throw err;
  }
  try {
    return await log.createStream(name, config);
  } catch (err) {
    // Created by someone else since we looked.
    if (isTollstreamError(err, 'STREAM_EXISTS')) return await log.describeStream(name);
    throw err;
  }
}

function invalid(key: string, message: string): TollstreamError {
  return new TollstreamError('CONFIG_INVALID', message, { context: { key } });
}
