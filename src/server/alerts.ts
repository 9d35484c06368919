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
  registerAlertMetrics(metrics, notify, alerts);
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
  notify: ReturnType<typeof openNotify>,
  alerts: Awaited<ReturnType<typeof startSpendAlerts>>,
): void {
  const invalid = registry.counter('tollstream_alerts_invalid_records_total', 'Toll records sent to the error stream because they do not fit the schema.');
  const outbox = registry.gauge('tollstream_notify_outbox_pending', 'Notifications committed but not yet fanned out.');
  const pending = registry.gauge('tollstream_notify_deliveries_pending', 'Webhook deliveries waiting for their next attempt.');
  const dead = registry.gauge('tollstream_notify_dead_letters', 'Webhook deliveries given up after their last attempt.');
  const mirrors = registry.gauge('tollstream_notify_mirrors_pending', 'Notifications fanned out and not yet appended to the streams their topic is mirrored to.');
  registry.onCollect(() => {
    invalid.reset();
    invalid.labels().inc(alerts.invalidCount());
    const n = notify.stats();
    outbox.labels().set(n.outboxPending);
    pending.labels().set(n.deliveriesPending);
    dead.labels().set(n.deadLetters);
    mirrors.labels().set(n.mirrorsPending);
  });
}
