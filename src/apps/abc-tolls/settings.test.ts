/**
 * The spending alerts' settings have one definition, the app's `alerts` section: it reads as it did when the
 * platform defined it (the same keys, variables, defaults and messages naming the key), and a bad
 * `alerts.windowSeconds` or `alerts.currency` reads the same to the user whether it comes from a config or from a
 * program that starts the alerts as a library, whose defaults are the server's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type LoadConfigOptions, type TollstreamConfig } from '../../config/index.ts';
import { isTollstreamError } from '../../core/errors.ts';
import { resolveSpendAlertsConfig } from './pipeline.ts';
import { SPEND_ALERTS_SECTION, spendAlertsSettings, type SpendAlertsSettings } from './settings.ts';
import { customerSpendSql } from './spend-query.ts';

/** The config as `tollstream up` loads it with this app, and the app's settings in it. */
async function load(options: LoadConfigOptions): Promise<TollstreamConfig & { readonly alerts: SpendAlertsSettings }> {
  const config = await loadConfig({ ...options, sections: () => [SPEND_ALERTS_SECTION] });
  return { ...config, alerts: spendAlertsSettings(config) };
}

function tempDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-config-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function failure(run: () => unknown): { code: string; key: unknown; message: string } {
  try {
    run();
  } catch (err) {
    if (!isTollstreamError(err)) throw err;
    return { code: err.code, key: err.context?.key, message: err.message };
  }
  throw new Error('expected a failure');
}

async function configFailure(env: Record<string, string>): Promise<{ code: string; key: unknown; message: string }> {
  const err = await load({ cwd: '/nonexistent', env }).catch((e: unknown) => e);
  if (!isTollstreamError(err)) throw new Error(`expected a config error, got ${String(err)}`);
  return { code: err.code, key: err.context?.key, message: err.message };
}

describe('spending alert settings', () => {
  it('default alike in the config and in the library', async () => {
    const { alerts } = await load({ cwd: '/nonexistent', env: {} });
    const resolved = resolveSpendAlertsConfig();
    expect({ source: resolved.source, windowSeconds: resolved.windowSeconds, timeZone: resolved.timeZone, currency: resolved.currency }).toEqual({
      source: alerts.source,
      windowSeconds: alerts.windowSeconds,
      timeZone: alerts.timeZone,
      currency: alerts.currency,
    });
  });

  it('refuse a window length outside 1 to 3600 s with the same code, key and range wherever it is given', async () => {
    for (const windowSeconds of [0, 3601, 1.5]) {
      const fromConfig = await configFailure({ TOLLSTREAM_ALERTS_WINDOW_SECONDS: String(windowSeconds) });
      const fromLibrary = failure(() => resolveSpendAlertsConfig({ windowSeconds }));
      const fromQuery = failure(() => customerSpendSql({ windowSeconds, timeZone: 'UTC' }));
      for (const seen of [fromConfig, fromLibrary, fromQuery]) {
        expect(seen.code).toBe('CONFIG_INVALID');
        expect(seen.key).toBe('alerts.windowSeconds');
        expect(seen.message).toMatch(new RegExp(`^alerts\\.windowSeconds must be an integer from 1 to 3600, got '?${String(windowSeconds).replace('.', '\\.')}'? \\(`));
      }
    }
  });

  it('refuse a currency that is not an ISO 4217 code with the same message from the config and the library', async () => {
    const fromConfig = await configFailure({ TOLLSTREAM_ALERTS_CURRENCY: 'usd' });
    const fromLibrary = failure(() => resolveSpendAlertsConfig({ currency: 'usd' }));
    for (const seen of [fromConfig, fromLibrary]) {
      expect(seen).toMatchObject({ code: 'CONFIG_INVALID', key: 'alerts.currency' });
      expect(seen.message).toContain('alerts.currency must be a 3-letter ISO 4217 code such as "USD", got "usd"');
    }
  });
});

describe('the alerts section', () => {
  it('keeps alert email off by default and needs a sender to turn it on', async () => {
    const plain = await load({ cwd: tempDir(), env: {} });
    expect(plain.alerts.email).toEqual({ enabled: false, smtpHost: '127.0.0.1', smtpPort: 25, tls: 'off', allowAuthWithoutTls: false });
    expect(plain.alerts.pushSubject).toBe('mailto:alerts@localhost');
    await expect(load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_EMAIL_ENABLED: 'true' } })).rejects.toThrow(/alerts.email.enabled needs alerts.email.from/);
    await expect(load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_EMAIL_FROM: 'a@example.com' } })).rejects.toThrow(/alerts.email.from conflicts with alerts.email.enabled false/);
    await expect(load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_EMAIL_ENABLED: 'true', TOLLSTREAM_ALERTS_EMAIL_FROM: 'not an address' } })).rejects.toThrow(/alerts.email.from must be an address/);
    await expect(load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_PUSH_SUBJECT: 'ops' } })).rejects.toThrow(/alerts.pushSubject must be a mailto:/);
    expect(plain.alerts.pushServices).toContain('fcm.googleapis.com');
    await expect(load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_PUSH_SERVICES: '["http://127.0.0.1:8080/push"]' } })).rejects.toThrow(/alerts.pushServices\[0\] must be an origin/);
    await expect(load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_PUSH_SERVICES: '["*.example.com"]' } })).rejects.toThrow(/alerts.pushServices\[0\] must be a lower-case host name/);
    const local = await load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_PUSH_SERVICES: '["http://127.0.0.1:8080","push.example.com"]' } });
    expect(local.alerts.pushServices).toEqual(['http://127.0.0.1:8080', 'push.example.com']);
    const on = await load({
      cwd: tempDir(),
      env: { TOLLSTREAM_ALERTS_EMAIL_ENABLED: 'true', TOLLSTREAM_ALERTS_EMAIL_FROM: 'ABC Tolls <alerts@tolls.example>', TOLLSTREAM_ALERTS_EMAIL_SMTP_PORT: '2525' },
    });
    expect(on.alerts.email).toEqual({ enabled: true, smtpHost: '127.0.0.1', smtpPort: 2525, tls: 'off', allowAuthWithoutTls: false, from: 'ABC Tolls <alerts@tolls.example>' });
  });

  it('takes a relay login with its password from the environment or a file, and only over TLS unless plain is allowed', async () => {
    const base = { TOLLSTREAM_ALERTS_EMAIL_ENABLED: 'true', TOLLSTREAM_ALERTS_EMAIL_FROM: 'alerts@tolls.example' };
    const secret = 's3cret-relay-pw';
    const fromEnv = await load({
      cwd: tempDir(),
      env: { ...base, TOLLSTREAM_ALERTS_EMAIL_TLS: 'starttls', TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts', TOLLSTREAM_ALERTS_EMAIL_PASSWORD: secret, TOLLSTREAM_ALERTS_EMAIL_SMTP_PORT: '587' },
    });
    expect(fromEnv.alerts.email).toMatchObject({ tls: 'starttls', user: 'alerts', password: secret, smtpPort: 587 });
    const cwd = tempDir({ 'smtp-password': `${secret}\n`, 'relay-ca.pem': 'PEM' });
    const fromFile = await load({ cwd, env: { ...base, TOLLSTREAM_ALERTS_EMAIL_TLS: 'implicit', TOLLSTREAM_ALERTS_EMAIL_CA_FILE: 'relay-ca.pem', TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts', TOLLSTREAM_ALERTS_EMAIL_PASSWORD_FILE: 'smtp-password' } });
    expect(fromFile.alerts.email).toMatchObject({ tls: 'implicit', user: 'alerts', password: secret, caFile: path.join(cwd, 'relay-ca.pem'), passwordFile: path.join(cwd, 'smtp-password') });

    const refusal = async (env: Record<string, string>, pattern: RegExp) => {
      const err = await load({ cwd, env: { ...base, ...env } }).then(() => undefined, (e: unknown) => e as Error);
      expect(err?.message).toMatch(pattern);
      expect(err?.message).not.toContain(secret);
      return err;
    };
    await refusal({ TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts', TOLLSTREAM_ALERTS_EMAIL_PASSWORD: secret }, /would send the password unencrypted.*alerts.email.allowAuthWithoutTls/);
    const plain = await load({ cwd, env: { ...base, TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts', TOLLSTREAM_ALERTS_EMAIL_PASSWORD: secret, TOLLSTREAM_ALERTS_EMAIL_ALLOW_AUTH_WITHOUT_TLS: 'true' } });
    expect(plain.alerts.email).toMatchObject({ tls: 'off', allowAuthWithoutTls: true, password: secret });
    await refusal({ TOLLSTREAM_ALERTS_EMAIL_TLS: 'starttls', TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts' }, /alerts.email.user needs a password/);
    await refusal({ TOLLSTREAM_ALERTS_EMAIL_TLS: 'starttls', TOLLSTREAM_ALERTS_EMAIL_PASSWORD: secret }, /needs alerts.email.user/);
    await refusal({ TOLLSTREAM_ALERTS_EMAIL_TLS: 'starttls', TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts', TOLLSTREAM_ALERTS_EMAIL_PASSWORD: secret, TOLLSTREAM_ALERTS_EMAIL_PASSWORD_FILE: 'smtp-password' }, /conflicts with alerts.email.passwordFile/);
    await refusal({ TOLLSTREAM_ALERTS_EMAIL_TLS: 'starttls', TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts', TOLLSTREAM_ALERTS_EMAIL_PASSWORD_FILE: 'missing' }, /alerts.email.passwordFile .*missing cannot be read: ENOENT/);
    await refusal({ TOLLSTREAM_ALERTS_EMAIL_CA_FILE: 'relay-ca.pem' }, /alerts.email.caFile conflicts with alerts.email.tls 'off'/);
    await refusal({ TOLLSTREAM_ALERTS_EMAIL_TLS: 'ssl' }, /alerts.email.tls/);
    await expect(load({ cwd, env: { TOLLSTREAM_ALERTS_EMAIL_USER: 'alerts' } })).rejects.toThrow(/alerts.email.user conflicts with alerts.email.enabled false/);
  });

});

describe('alerts settings', () => {
  it('accept an IANA time zone and a currency code from the environment', async () => {
    const config = await load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_TIME_ZONE: 'America/New_York', TOLLSTREAM_ALERTS_CURRENCY: 'EUR' } });
    expect(config.alerts).toMatchObject({ enabled: true, timeZone: 'America/New_York', currency: 'EUR' });
  });

  it('reject a time zone that does not exist, naming the key', async () => {
    await expect(load({ cwd: tempDir(), env: { TOLLSTREAM_ALERTS_TIME_ZONE: 'Mars/Olympus' } })).rejects.toThrow(/alerts.timeZone must be an IANA time zone.*Mars\/Olympus/);
    await expect(load({ cwd: tempDir(), env: {}, flags: { 'alerts.currency': 'dollars' } })).rejects.toThrow(/alerts.currency must be a 3-letter/);
  });
});

describe('the alerts section without the app', () => {
  it('is no setting of the platform: a server loaded without the app refuses its keys', async () => {
    await expect(loadConfig({ cwd: '/nonexistent', env: { TOLLSTREAM_ALERTS_WINDOW_SECONDS: '5' } })).rejects.toThrow('unknown environment variable TOLLSTREAM_ALERTS_WINDOW_SECONDS');
    await expect(loadConfig({ cwd: tempDir({ 'tollstream.config.json': '{"alerts":{"enabled":false}}' }), env: {} })).rejects.toThrow("unknown config key 'alerts'");
  });
});
