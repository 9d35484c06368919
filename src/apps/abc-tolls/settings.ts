/**
 * The spending alerts' section of the config, `alerts`: declared by the app, read and checked by the config loader
 * with the platform's settings (docs/configuration.md lists it with them). The library entry point
 * (`resolveSpendAlertsConfig`) takes its defaults and checks from here too, so both read alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sectionSettings, type ConfigProblem, type ConfigSection } from '../../app-contract/index.ts';
import type { TollstreamConfig } from '../../config/index.ts';
import { TollstreamError } from '../../core/errors.ts';

/** The ABC Tolls spending alerts and the customer API (`/v1/customers`, `/v1/me`). */
export interface SpendAlertsSettings {
  /** Run the spend function, keep monthly totals and notify customers past their threshold. @default true */
  readonly enabled: boolean;
  /** IANA time zone in which a month (and a day of the spend breakdown) begins. @default 'UTC' */
  readonly timeZone: string;
  /** Only tolls in this currency count; others go to the error stream. @default 'USD' */
  readonly currency: string;
  /**
   * `sql`: tolls are checked into `toll_transactions_valid`, summed per customer and month by the continuous
   * query `abc-tolls-customer-spend` into `customer_spend`, and the threshold function reads those windows
   * (needs `queries.enabled`). `transactions`: the threshold function reads `toll_transactions` directly.
   * @default 'sql'
   */
  readonly source: 'sql' | 'transactions';
  /** Length of the query's processing-time windows, in seconds: how long spend waits before it is summed. @default 1 */
  readonly windowSeconds: number;
  /** The operator's contact that browsers' push services see with every Web Push alert (the VAPID `sub`): `mailto:` or `https:`. @default 'mailto:alerts@localhost' */
  readonly pushSubject: string;
  /**
   * The push services a browser subscription may point at: a host name matches itself and its subdomains (over
   * https), an origin (`http://127.0.0.1:8080`) matches exactly. The server POSTs to the endpoint a customer
   * gives, so anything else is refused. @default the push services of Chrome, Firefox, Safari and Edge
   */
  readonly pushServices: readonly string[];
  /** Alerts by email to each customer's address, through an SMTP relay (docs/notify.md, "Email"). */
  readonly email?: EmailSettings;
}

export interface EmailSettings {
  /** @default false */
  readonly enabled: boolean;
  /** @default '127.0.0.1' */
  readonly smtpHost: string;
  /** @default 25 */
  readonly smtpPort: number;
  /** `off` plain SMTP, `starttls` upgraded after EHLO (refused if not offered), `implicit` TLS from the first byte (port 465). @default 'off' */
  readonly tls?: 'off' | 'starttls' | 'implicit';
  /** A PEM file of CAs trusted for the relay's certificate besides Node's bundled ones; only with `tls`. */
  readonly caFile?: string;
  /** The relay's login (AUTH PLAIN, else LOGIN); needs `password` or `passwordFile`. */
  readonly user?: string;
  /** The login's password; best from `TOLLSTREAM_ALERTS_EMAIL_PASSWORD`. Filled from `passwordFile` when that is set. */
  readonly password?: string;
  /** A file whose content (one trailing line break dropped) is the password, read at start. */
  readonly passwordFile?: string;
  /** Log in over `tls: 'off'`, sending the password unencrypted. @default false */
  readonly allowAuthWithoutTls?: boolean;
  /** The sender, `alerts@example.com` or `ABC Tolls <alerts@example.com>`; required when enabled. */
  readonly from?: string;
  /**
   * The address customers reach this server at (`https://tolls.example.com`), for the unsubscribe link in each
   * email. @default the server's own URL (`http://<host>:<port>`), right only when customers reach it directly
   */
  readonly linkBaseUrl?: string;
}

export const SPEND_ALERTS_DEFAULTS: SpendAlertsSettings = {
  enabled: true,
  timeZone: 'UTC',
  currency: 'USD',
  source: 'sql',
  windowSeconds: 1,
  pushSubject: 'mailto:alerts@localhost',
  pushServices: ['fcm.googleapis.com', 'updates.push.services.mozilla.com', 'web.push.apple.com', 'notify.windows.com'],
  email: { enabled: false, smtpHost: '127.0.0.1', smtpPort: 25, tls: 'off', allowAuthWithoutTls: false },
};

/** The email settings that mean something only while email is on. */
const EMAIL_ONLY = ['from', 'linkBaseUrl', 'tls', 'caFile', 'user', 'password', 'passwordFile', 'allowAuthWithoutTls'];

export const SPEND_ALERTS_SECTION: ConfigSection = {
  name: 'alerts',
  settings: {
    enabled: { type: 'boolean' },
    timeZone: { type: 'string', check: checkTimeZone },
    currency: { type: 'string', check: (v) => (/^[A-Z]{3}$/.test(v) ? undefined : 'must be a 3-letter ISO 4217 code such as "USD"') },
    source: { type: 'enum', values: ['sql', 'transactions'] },
    windowSeconds: { type: 'integer', min: 1, max: 3600 },
    pushSubject: { type: 'string', check: (v) => (/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/.test(v) ? undefined : 'must be a mailto: address or an https: URL') },
    pushServices: { type: 'json', check: checkPushServices },
    'email.enabled': { type: 'boolean' },
    'email.smtpHost': { type: 'string', check: (v) => (v.trim() === '' ? 'must name a host' : undefined) },
    'email.smtpPort': { type: 'integer', min: 1, max: 65535 },
    'email.tls': { type: 'enum', values: ['off', 'starttls', 'implicit'] },
    'email.caFile': { type: 'string' },
    'email.user': { type: 'string', check: (v) => (/[\r\n\0]/.test(v) ? 'must be one line' : undefined) },
    // No check that could quote the value: a refused password must not reach the log in the error.
    'email.password': { type: 'string' },
    'email.passwordFile': { type: 'string' },
    'email.allowAuthWithoutTls': { type: 'boolean' },
    'email.linkBaseUrl': { type: 'string', check: (v) => (/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(v) ? undefined : 'must be an http:// or https:// URL without query, such as https://tolls.example.com') },
    'email.from': { type: 'string', check: (v) => (/^(?:[^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/.test(v.trim()) ? undefined : 'must be an address such as alerts@example.com or "ABC Tolls <alerts@example.com>"') },
  },
  defaults: SPEND_ALERTS_DEFAULTS as unknown as Record<string, unknown>,
  requiresEnabled: EMAIL_ONLY.map((key) => [`alerts.email.${key}`, 'alerts.email.enabled'] as const),
  check: checkEmail,
  resolve: (values, cwd) => {
    const settings = values as unknown as SpendAlertsSettings;
    return (settings.email ? { ...settings, email: emailSettings(settings.email, cwd) } : settings) as unknown as Record<string, unknown>;
  },
};

/** The settings of `config`, or the defaults when it was built without the section. */
export function spendAlertsSettings(config: TollstreamConfig): SpendAlertsSettings {
  return sectionSettings<SpendAlertsSettings>(config, SPEND_ALERTS_SECTION);
}

/**
 * The section with `settings` over the defaults, to spread into a config built by hand (a library entry point, a
 * test), which the loader did not fill: `{ ...DEFAULT_CONFIG, ...spendAlertsConfig({ enabled: false }) }`.
 */
export function spendAlertsConfig(settings: Partial<SpendAlertsSettings>): { readonly alerts: SpendAlertsSettings } {
  return { alerts: { ...SPEND_ALERTS_DEFAULTS, ...settings } };
}

/** Email on needs a sender; a login needs a password from one place, and an encrypted connection unless plain is allowed outright. */
function checkEmail(explicit: ReadonlyMap<string, unknown>): ConfigProblem | undefined {
  if (explicit.get('alerts.email.enabled') === true && !explicit.has('alerts.email.from')) {
    return { key: 'alerts.email.from', message: 'alerts.email.enabled needs alerts.email.from, the sender address of the alert emails' };
  }
  const security = explicit.get('alerts.email.tls') ?? SPEND_ALERTS_DEFAULTS.email!.tls;
  if (explicit.has('alerts.email.caFile') && security === 'off') {
    return { key: 'alerts.email.caFile', message: "alerts.email.caFile conflicts with alerts.email.tls 'off': set alerts.email.tls to 'starttls' or 'implicit', or drop alerts.email.caFile" };
  }
  if (explicit.has('alerts.email.password') && explicit.has('alerts.email.passwordFile')) {
    return { key: 'alerts.email.passwordFile', message: 'alerts.email.password conflicts with alerts.email.passwordFile: give the password one way' };
  }
  const hasPassword = explicit.has('alerts.email.password') || explicit.has('alerts.email.passwordFile');
  if (!explicit.has('alerts.email.user')) {
    return hasPassword ? { key: 'alerts.email.user', message: 'alerts.email.password needs alerts.email.user, the login it belongs to' } : undefined;
  }
  if (!hasPassword) {
    return { key: 'alerts.email.password', message: 'alerts.email.user needs a password: TOLLSTREAM_ALERTS_EMAIL_PASSWORD (alerts.email.password) or alerts.email.passwordFile' };
  }
  if (security === 'off' && explicit.get('alerts.email.allowAuthWithoutTls') !== true) {
    return {
      key: 'alerts.email.tls',
      message: "alerts.email.user with alerts.email.tls 'off' would send the password unencrypted: set alerts.email.tls to 'starttls' or 'implicit', or alerts.email.allowAuthWithoutTls to true",
    };
  }
  return undefined;
}

/** The email settings with their file paths resolved against `cwd` and the password read from its file. */
function emailSettings(email: EmailSettings, cwd: string): EmailSettings {
  const caFile = email.caFile === undefined ? {} : { caFile: path.resolve(cwd, email.caFile) };
  if (email.passwordFile === undefined) return { ...email, ...caFile };
  const passwordFile = path.resolve(cwd, email.passwordFile);
  let password: string;
  try {
    password = fs.readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw configError(`alerts.email.passwordFile ${passwordFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, passwordFile, err);
  }
  if (password === '') throw configError(`alerts.email.passwordFile ${passwordFile} is empty`, passwordFile);
  return { ...email, ...caFile, passwordFile, password };
}

function configError(message: string, file: string, cause?: unknown): TollstreamError {
  return new TollstreamError('CONFIG_INVALID', message, { context: { key: 'alerts.email.passwordFile', file }, cause });
}

function checkPushServices(v: unknown): string | undefined {
  if (!Array.isArray(v) || v.length > 100) return 'must be an array of at most 100 host names or origins';
  for (const [i, entry] of v.entries()) {
    if (typeof entry !== 'string') return `[${i}] must be a host name or an origin`;
    if (entry.includes('://')) {
      let origin: string | undefined;
      try {
        origin = new URL(entry).origin;
      } catch {
        origin = undefined;
      }
      if (origin !== entry) return `[${i}] must be an origin such as "https://push.example.com" (scheme, host, port; no path)`;
    } else if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(entry)) {
      return `[${i}] must be a lower-case host name such as "fcm.googleapis.com"`;
    }
  }
  return undefined;
}

function checkTimeZone(v: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
    return undefined;
  } catch {
    return `must be an IANA time zone name such as "UTC" or "America/New_York" ('${v}' is not one)`;
  }
}
