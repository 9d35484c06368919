/**
 * The `stationAlerts` section, declared by the app, reads as it did when the platform defined it: the same keys,
 * variables, defaults and messages naming the key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { STATION_ALERTS_SECTION, STATION_REFERENCE_SECTION, stationAlertsSettings, stationReferenceFile } from './settings.ts';

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

describe('the station reference file, reference.stationsFile', () => {
  const sections = () => [STATION_ALERTS_SECTION, STATION_REFERENCE_SECTION];

  it('is unset by default, and read from the file relative to the working directory', async () => {
    expect(stationReferenceFile(await loadConfig({ cwd: '/nonexistent', env: {}, sections }))).toBeUndefined();
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-config-'));
    fs.writeFileSync(path.join(cwd, 'tollstream.config.json'), JSON.stringify({ reference: { stationsFile: 'stations.csv' } }));
    expect(stationReferenceFile(await loadConfig({ cwd, env: {}, sections }))).toBe(path.join(cwd, 'stations.csv'));
    expect(stationReferenceFile(await loadConfig({ cwd: '/srv', env: { TOLLSTREAM_REFERENCE_STATIONS_FILE: 'ref/s.json' }, sections }))).toBe('/srv/ref/s.json');
  });

  it('is refused without a warehouse, and by a platform that runs without the app', async () => {
    await expect(loadConfig({ cwd: '/nonexistent', env: { TOLLSTREAM_WAREHOUSE_ENABLED: 'false', TOLLSTREAM_REFERENCE_STATIONS_FILE: 's.csv' }, sections })).rejects.toThrow(
      /reference.stationsFile conflicts with warehouse.enabled false/,
    );
    await expect(loadConfig({ cwd: '/nonexistent', env: { TOLLSTREAM_REFERENCE_STATIONS_FILE: 's.csv' } })).rejects.toThrow('unknown environment variable TOLLSTREAM_REFERENCE_STATIONS_FILE');
  });
});
