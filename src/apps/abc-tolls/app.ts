/**
 * The ABC Tolls spending alerts as an app of the server (`alerts` section of the config): on the tables,
 * notifications and functions runtime that stream functions share (`<dataDir>/tables.db`; on a cluster node the
 * tables and the runtime are in PostgreSQL, shared by the nodes, as the server chooses), the pipeline (by
 * default through streaming SQL: the validation function, the continuous query `abc-tolls-customer-spend`, the
 * threshold function on `customer_spend`), the ways alerts leave (the inbox, Web Push, email), the breaches fed
 * into the warehouse, and the customer API as a route module.
 */
import path from 'node:path';
import type { App, AppContext, RunningApp, Undo } from '../../app-contract/index.ts';
import type { TollstreamConfig } from '../../config/index.ts';
import { TollstreamError } from '../../core/errors.ts';
import { TOLL_TRANSACTIONS, tollTransactionsStream } from '../../simulator/index.ts';
import { loadOrCreateVapidKeys, readVapidKeys, smtpSecurity, type Notifications, type NotifyOptions } from '../../notify/index.ts';
import type { Registry } from '../../metrics/index.ts';
import { BREACH_MIRROR, breachFeed, THRESHOLD_BREACHES } from './breaches.ts';
import { Customers } from './customers.ts';
import { alertText, createCustomerApi, customerTokens, unsubscribeLinks, type UnsubscribeLinks } from './http/index.ts';
import { startSpendAlerts } from './pipeline.ts';
import { SPEND_ALERTS_PAGES } from './pages.ts';
import { SPEND_ALERT_REPORTS } from './reports.ts';
import { SPEND_ALERTS_SECTION, spendAlertsSettings } from './settings.ts';
import { SpendReader } from './spend.ts';

export const spendAlertsApp: App = {
  name: 'abc-tolls',
  configSection: SPEND_ALERTS_SECTION,
  enabled: (config) => spendAlertsSettings(config).enabled,
  // The tolls it reads, where producers write them, and the table the server delivers them into.
  streams: (config) => [tollTransactionsStream(config.delivery.stream)],
  warehouseTables: [TOLL_TRANSACTIONS, THRESHOLD_BREACHES],
  reports: SPEND_ALERT_REPORTS,
  web: SPEND_ALERTS_PAGES,
  prepare({ config, warehouse, secret, serverUrl }) {
    const channels = alertChannels(config, secret, serverUrl);
    return {
      // Breaches reach the warehouse through a stream the notify dispatcher mirrors them to (breaches.ts).
      ...(warehouse ? { warehouseFeeds: [breachFeed(config)] } : {}),
      sharedStores: { notifyOptions: channels.notifyOptions, ...(warehouse ? { mirror: [BREACH_MIRROR] } : {}) },
      start: (ctx, undo) => startAlerts(ctx, channels, undo),
    };
  },
};

/** How spending alerts leave besides the inbox: set on the shared notifications when they are opened. */
interface AlertChannels {
  readonly notifyOptions: Pick<NotifyOptions, 'webPush' | 'email' | 'render'>;
  readonly emailOn: boolean;
  /** The unsubscribe links of alert emails; undefined while email is off. */
  readonly unsubscribeLinks: UnsubscribeLinks | undefined;
  /** Where email finds a customer's address: the app's customers, once they are open. */
  useCustomers(customers: Customers): void;
  /** The server's own URL, once it listens: the base of unsubscribe links without `alerts.email.linkBaseUrl`. */
  useServerUrl(url: string): void;
}

/**
 * `secret` signs the unsubscribe links of alert emails (the server's own secret, the same on every node of a
 * cluster); `serverUrl` is where the server will listen, their base until `useServerUrl` gives the bound one.
 */
function alertChannels(config: TollstreamConfig, secret: Buffer, serverUrl: string): AlertChannels {
  const settings = spendAlertsSettings(config);
  // Alerts leave by Web Push and, when configured, by email. The VAPID keys are made once and kept in the data dir;
  // on a cluster the notifications keep the one pair every node signs with (a browser subscribes through any node),
  // which starts as this node's earlier file when it has one and is the first to open them.
  const keyFile = path.join(config.dataDir, 'vapid.json');
  const earlier = config.cluster ? readVapidKeys(keyFile) : undefined;
  const webPush = config.cluster
    ? { ...(earlier ? { offerKeys: earlier } : {}), subject: settings.pushSubject }
    : { keys: loadOrCreateVapidKeys(keyFile), subject: settings.pushSubject };
  const emailSettings = settings.email;
  let customers: Customers | undefined;
  const emailOn = emailSettings?.enabled === true && emailSettings.from !== undefined;
  const links = emailOn ? unsubscribeLinks(secret, () => emailSettings.linkBaseUrl ?? serverUrl) : undefined;
  const email = emailOn && links
    ? {
        host: emailSettings.smtpHost,
        port: emailSettings.smtpPort,
        security: smtpSecurity(emailSettings),
        from: emailSettings.from!,
        // A customer who stopped alert emails has no address for them: the dispatcher creates no email delivery.
        addressOf: (id: string) => customers?.emailAddress(id),
        unsubscribeUrl: (_topic: string, message: Record<string, unknown>) => (typeof message.customer_id === 'string' ? links.url(message.customer_id) : undefined),
      }
    : undefined;
  return {
    notifyOptions: { webPush, ...(email ? { email } : {}), render: alertText(settings.currency) },
    emailOn,
    unsubscribeLinks: links,
    useCustomers: (c) => (customers = c),
    useServerUrl: (url) => (serverUrl = url),
  };
}

async function startAlerts(ctx: AppContext, channels: AlertChannels, undo: Undo): Promise<RunningApp> {
  const { log, config, authenticator, metrics, logger, queries } = ctx;
  if (ctx.shared === undefined) throw new TollstreamError('INTERNAL', 'the spending alerts start without the shared stores they asked for');
  const { store, notify, functions } = ctx.shared;
  const settings = spendAlertsSettings(config);
  if (settings.source === 'sql' && queries === undefined) {
    throw new TollstreamError('CONFIG_INVALID', "alerts.source 'sql' runs a continuous query: set queries.enabled to true, or alerts.source to 'transactions'", {
      context: { key: 'alerts.source' },
    });
  }
  const alerts = await startSpendAlerts({
    log,
    store,
    notify,
    functions,
    logger,
    ...(queries ? { queries } : {}),
    config: {
      timeZone: settings.timeZone,
      currency: settings.currency,
      transactionsStream: config.delivery.stream,
      source: settings.source,
      windowSeconds: settings.windowSeconds,
    },
  });
  undo.unshift(() => alerts.stop());
  notify.start();

  const customers = await Customers.open({ store, timeZone: alerts.config.timeZone, topic: alerts.config.topic });
  channels.useCustomers(customers);
  await syncEmailSubscription(notify, alerts.config.topic, channels.emailOn);
  const spend = new SpendReader({ store, timeZone: alerts.config.timeZone });
  // A customer's token is the customer's only: never the operator's key, in local mode neither.
  authenticator.refuseAsOperator(customerTokens(customers));
  const shutdown = new AbortController();
  const routes = createCustomerApi({
    customers,
    spend,
    notify,
    ...(ctx.warehouse ? { warehouse: ctx.warehouse } : {}),
    logger: logger.child({ component: 'customer-api' }),
    operatorAuth: (header) => authenticator.verifyBearer(header),
    shutdown: shutdown.signal,
    currency: settings.currency,
    push: { publicKey: webPushPublicKey(notify), services: settings.pushServices },
    alertTopic: alerts.config.topic,
    ...(channels.unsubscribeLinks ? { unsubscribeLinks: channels.unsubscribeLinks } : {}),
  });
  registerAlertMetrics(metrics, alerts);
  logger.info('spending alerts running', {
    mappings: alerts.mappings,
    source: alerts.config.source,
    ...(alerts.config.source === 'sql' ? { query: alerts.config.queryName, windowSeconds: alerts.config.windowSeconds } : {}),
    timeZone: alerts.config.timeZone,
  });
  return { routes: [routes], endStreams: () => shutdown.abort(), listening: (url) => channels.useServerUrl(url) };
}

/** One email subscription (to each customer's own address) while email is on, none while it is off. */
async function syncEmailSubscription(notify: Notifications, topic: string, on: boolean): Promise<void> {
  const existing = (await notify.listSubscriptions(topic)).filter((s) => s.protocol === 'email' && s.url === undefined);
  if (on && existing.length === 0) await notify.subscribe(topic, { protocol: 'email' });
  if (!on) for (const s of existing) await notify.unsubscribe(s.id);
}

function registerAlertMetrics(registry: Registry, alerts: Awaited<ReturnType<typeof startSpendAlerts>>): void {
  const invalid = registry.counter('tollstream_alerts_invalid_records_total', 'Toll records sent to the error stream because they do not fit the schema.');
  registry.onCollectAsync(async () => {
    const count = await alerts.invalidCount();
    invalid.reset();
    invalid.labels().inc(count);
  });
}

/** The key browsers subscribe with: the one the shared notifications sign with, which the app gave them or they keep. */
function webPushPublicKey(notify: Notifications): string {
  const key = notify.webPushPublicKey();
  if (key === undefined) throw new TollstreamError('INTERNAL', 'the spending alerts start without Web Push on their notifications');
  return key;
}
