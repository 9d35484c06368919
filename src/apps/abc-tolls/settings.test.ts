/**
 * The spending alerts' settings have one definition, in the config schema: a bad `alerts.windowSeconds` or
 * `alerts.currency` reads the same to the user whether it comes from a config or from a program that starts the
 * alerts as a library, and the library's defaults are the server's.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { isTollstreamError } from '../../core/errors.ts';
import { resolveSpendAlertsConfig } from './pipeline.ts';
import { customerSpendSql } from './spend-query.ts';

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
  const err = await loadConfig({ cwd: '/nonexistent', env }).catch((e: unknown) => e);
  if (!isTollstreamError(err)) throw new Error(`expected a config error, got ${String(err)}`);
  return { code: err.code, key: err.context?.key, message: err.message };
}

describe('spending alert settings', () => {
  it('default alike in the config and in the library', async () => {
    const { alerts } = await loadConfig({ cwd: '/nonexistent', env: {} });
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
