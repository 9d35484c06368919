/**
 * The ABC Tolls spending alerts inside the server: on the tables, notifications and functions runtime the
 * server shares (functions.ts), the pipeline (by default through streaming SQL: the validation function, the continuous
 * query `abc-tolls-customer-spend` on the server's query manager, the threshold function on
 * `customer_spend`), and the customer API as a gateway route module. Steps to undo are pushed on `undo` so
 * the server stops them in reverse order.
 */
import { Customers, SpendReader, startSpendAlerts } from '../apps/abc-tolls/index.ts';
import { createCustomerApi, customerTokens } from '../apps/abc-tolls/http/index.ts';
import type { TollstreamConfig } from '../config/index.ts';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { FunctionsRuntime } from '../functions/index.ts';
import type { Authenticator, RouteModule } from '../gateway/index.ts';
import type { StreamLog } from '../log/index.ts';
import type { Registry } from '../metrics/index.ts';
import type { openNotify } from '../notify/index.ts';
import type { QueryManager } from '../queries/index.ts';
import type { FunctionsState } from './functions.ts';

export interface RunningAlerts {
  /** The customer API, for the gateway to mount. */
  readonly routes: RouteModule;
  /** Ends open notification streams; call before closing the gateway, which waits for open requests. */
  endStreams(): void;
}

export async function startAlerts(
  deps: { log: StreamLog; config: TollstreamConfig; authenticator: Authenticator; metrics: Registry; logger: Logger; state: FunctionsState; queries?: QueryManager | undefined },
  undo: Array<() => Promise<void> | void>,
): Promise<RunningAlerts> {
  const { log, config, authenticator, metrics, logger, queries } = deps;
  const { tables, notify, functions } = deps.state;
  if (config.alerts.source === 'sql' && queries === undefined) {
    throw new TollstreamError('CONFIG_INVALID', "alerts.source 'sql' runs a continuous query: set queries.enabled to true, or alerts.source to 'transactions'", {
      context: { key: 'alerts.source' },
    });
  }
  const alerts = await startSpendAlerts({
    log,
    tables,
    notify,
    functions,
    logger,
    ...(queries ? { queries } : {}),
    config: {
      timeZone: config.alerts.timeZone,
      currency: config.alerts.currency,
      transactionsStream: config.delivery.stream,
      source: config.alerts.source,
      windowSeconds: config.alerts.windowSeconds,
    },
  });
  undo.unshift(() => alerts.stop());
  notify.start();

  const customers = new Customers({ tables, timeZone: alerts.config.timeZone, topic: alerts.config.topic });
  const spend = new SpendReader({ tables, timeZone: alerts.config.timeZone });
  // A customer's token is the customer's only: never the operator's key, in local mode neither.
  authenticator.refuseAsOperator(customerTokens(customers));
  const shutdown = new AbortController();
  const routes = createCustomerApi({
    customers,
    spend,
    notify,
    logger: logger.child({ component: 'customer-api' }),
    operatorAuth: (header) => authenticator.verifyBearer(header),
    shutdown: shutdown.signal,
    currency: config.alerts.currency,
  });
  registerAlertMetrics(metrics, functions, notify, alerts);
  logger.info('spending alerts running', {
    mappings: alerts.mappings,
    source: alerts.config.source,
    ...(alerts.config.source === 'sql' ? { query: alerts.config.queryName, windowSeconds: alerts.config.windowSeconds } : {}),
    timeZone: alerts.config.timeZone,
  });
  return { routes, endStreams: () => shutdown.abort() };
}

function registerAlertMetrics(
  registry: Registry,
  functions: FunctionsRuntime,
  notify: ReturnType<typeof openNotify>,
  alerts: Awaited<ReturnType<typeof startSpendAlerts>>,
): void {
  const invocations = registry.counter('tollstream_function_invocations_total', 'Handler invocations, by mapping.', ['mapping']);
  const errors = registry.counter('tollstream_function_errors_total', 'Failed handler invocations, by mapping.', ['mapping']);
  const retries = registry.counter('tollstream_function_retries_total', 'Batches retried after a failure, by mapping.', ['mapping']);
  const processed = registry.counter('tollstream_function_records_total', 'Records whose effects are committed, by mapping.', ['mapping']);
  const onFailure = registry.counter('tollstream_function_on_failure_records_total', 'Records given up on and sent to the on-failure destination, by mapping.', ['mapping']);
  const age = registry.gauge('tollstream_function_iterator_age_seconds', 'Now minus the arrival time of the last record processed, in seconds, by mapping.', ['mapping']);
  const invalid = registry.counter('tollstream_alerts_invalid_records_total', 'Toll records sent to the error stream because they do not fit the schema.');
  const outbox = registry.gauge('tollstream_notify_outbox_pending', 'Notifications committed but not yet fanned out.');
  const pending = registry.gauge('tollstream_notify_deliveries_pending', 'Webhook deliveries waiting for their next attempt.');
  const dead = registry.gauge('tollstream_notify_dead_letters', 'Webhook deliveries given up after their last attempt.');
  const mirrors = registry.gauge('tollstream_notify_mirrors_pending', 'Notifications fanned out and not yet appended to the streams their topic is mirrored to.');
  registry.onCollect(() => {
    for (const family of [invocations, errors, retries, processed, onFailure, age, invalid]) family.reset();
    for (const s of functions.stats()) {
      invocations.labels(s.name).inc(s.invocations);
      errors.labels(s.name).inc(s.errors);
      retries.labels(s.name).inc(s.retries);
      processed.labels(s.name).inc(s.recordsProcessed);
      onFailure.labels(s.name).inc(s.recordsSentToOnFailure);
      age.labels(s.name).set(s.iteratorAgeMs / 1000);
    }
    invalid.labels().inc(alerts.invalidCount());
    const n = notify.stats();
    outbox.labels().set(n.outboxPending);
    pending.labels().set(n.deliveriesPending);
    dead.labels().set(n.deadLetters);
    mirrors.labels().set(n.mirrorsPending);
  });
}
