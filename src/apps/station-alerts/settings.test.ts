/**
 * The `stationAlerts` section, declared by the app, reads as it did when the platform defined it: the same keys,
 * variables, defaults and messages naming the key.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { STATION_ALERTS_SECTION, stationAlertsSettings } from './settings.ts';

const sections = () => [STATION_ALERTS_SECTION];

describe('the stationAlerts section', () => {
  it('has its defaults, and takes its settings from the environment', async () => {
    expect(stationAlertsSettings(await loadConfig({ cwd: '/nonexistent', env: {}, sections }))).toEqual({ enabled: true, windowMinutes: 30, defaultExpected: 0, defaultThreshold: 0, webhooks: [] });
    const env = { TOLLSTREAM_STATION_ALERTS_WINDOW_MINUTES: '15', TOLLSTREAM_STATION_ALERTS_WEBHOOKS: '[{"url":"https://ops.example.com/hook","secret":"0123456789abcdef"}]' };
    const settings = stationAlertsSettings(await loadConfig({ cwd: '/nonexistent', env, sections }));
    expect(settings).toMatchObject({ enabled: true, windowMinutes: 15, webhooks: [{ url: 'https://ops.example.com/hook', secret: '0123456789abcdef' }] });
  });

  it('refuses bad values naming the key', async () => {
    await expect(loadConfig({ cwd: '/nonexistent', env: { TOLLSTREAM_STATION_ALERTS_WINDOW_MINUTES: '0' }, sections })).rejects.toThrow(
      "stationAlerts.windowMinutes must be an integer from 1 to 1440, got 0 (environment variable TOLLSTREAM_STATION_ALERTS_WINDOW_MINUTES)",
    );
    await expect(loadConfig({ cwd: '/nonexistent', env: {}, flags: { 'stationAlerts.webhooks': [{ url: 'https://x.example.com', secret: 'short' }] }, sections })).rejects.toThrow(
      'stationAlerts.webhooks[0].secret must be a string of 16 characters or more',
    );
    await expect(loadConfig({ cwd: '/nonexistent', env: { TOLLSTREAM_STATION_ALERTS_WINDOW: '5' }, sections })).rejects.toThrow('unknown environment variable TOLLSTREAM_STATION_ALERTS_WINDOW');
  });
});
