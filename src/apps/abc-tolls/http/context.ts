/** What the route handlers share, and the JSON shapes of customers and notifications in the API. */
import type { Logger } from '../../../core/logger.ts';
import type { InboxEntry, Notifications } from '../../../notify/index.ts';
import type { Warehouse } from '../../../warehouse/index.ts';
import type { Customer, Customers } from '../customers.ts';
import type { SpendReader } from '../spend.ts';

export interface ApiContext {
  readonly customers: Customers;
  readonly spend: SpendReader;
  /** Where trip history is read; undefined when the deployment has no warehouse. */
  readonly warehouse: Warehouse | undefined;
  readonly now: () => number;
  /** Web Push; undefined when it is off. */
  readonly push: PushSettings | undefined;
  /** The topic of spending alerts, which push subscriptions follow. */
  readonly alertTopic: string;
  readonly notify: Notifications;
  readonly logger: Logger;
  readonly currency: string;
  readonly maxBodyBytes: number;
  readonly sseKeepAliveMs: number;
  readonly shutdown: AbortSignal | undefined;
  /** The deployment's zone (months are cut in it), shown for customers without a zone of their own. */
  readonly deploymentZone: string;
  /** True when the server sends alert emails (`alerts.email` set up); without it `email_alerts` changes nothing. */
  readonly sendsEmail: boolean;
}

export interface PushSettings {
  /** The VAPID public key (base64url) browsers subscribe with. */
  readonly publicKey: string;
  /** Push services a subscription may point at: a host name (itself and its subdomains, over https) or an exact origin. */
  readonly services: readonly string[];
}

export interface CustomerJson {
  readonly customer_id: string;
  readonly name: string;
  readonly email: string;
  readonly time_zone: string;
  readonly threshold_cents: number | null;
  /** False once the customer stopped alert emails. */
  readonly email_alerts: boolean;
  /** Whether this server sends alert emails at all; when false, no email is sent whatever `email_alerts` says. */
  readonly email_alerts_available: boolean;
  readonly currency: string;
  readonly created_at: string;
}

export function customerJson(ctx: ApiContext, customer: Customer): CustomerJson {
  return {
    customer_id: customer.id,
    name: customer.name,
    email: customer.email,
    time_zone: customer.timeZone ?? ctx.deploymentZone,
    threshold_cents: customer.thresholdCents ?? null,
    email_alerts: customer.emailAlerts,
    email_alerts_available: ctx.sendsEmail,
    currency: ctx.currency,
    created_at: new Date(customer.createdAt).toISOString(),
  };
}

export interface NotificationJson {
  readonly id: number;
  readonly created_at: string;
  readonly read: boolean;
  readonly message: InboxEntry['message'];
}

/** An inbox entry as the customer sees it: no internal keys, no topic plumbing. */
export function notificationJson(entry: InboxEntry): NotificationJson {
  return { id: entry.id, created_at: new Date(entry.createdAt).toISOString(), read: entry.read, message: entry.message };
}
