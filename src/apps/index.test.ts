import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type ConfigOverrides, type TollstreamConfig } from '../config/index.ts';
import { spendAlertsConfig, spendAlertsSettings } from './abc-tolls/index.ts';
import { STATION_ALERTS_DEFAULTS, stationReferenceFile } from './station-alerts/index.ts';
import { SHIPPED_APPS, type ShippedConfigOverrides } from './index.ts';
import { SHIPPED_PAGES } from './web.ts';

/** A config built by hand as the server tests build theirs. */
function handBuilt(overrides: ShippedConfigOverrides): TollstreamConfig {
  return { ...DEFAULT_CONFIG, ...overrides };
}

// The `@ts-expect-error` lines are the checks: `tsc` fails on one whose next line compiles.
describe('changes to a config built by hand', () => {
  it("reach the shipped apps' sections and the platform's", () => {
    const config = handBuilt({ ...spendAlertsConfig({ windowSeconds: 5 }), reference: { stationsFile: '/srv/stations.csv' }, port: 0 });
    expect(spendAlertsSettings(config).windowSeconds).toBe(5);
    expect(stationReferenceFile(config)).toBe('/srv/stations.csv');
    expect(config.port).toBe(0);
  });

  it('refuse a misspelt section or setting at compile time', () => {
    const typos = [
      // @ts-expect-error `warehouse` misspelt: no such section
      () => handBuilt({ wrehouse: { enabled: false } }),
      // @ts-expect-error a setting the station alerts do not have
      () => handBuilt({ stationAlerts: { ...STATION_ALERTS_DEFAULTS, windowMinute: 5 } }),
    ];
    // The platform's own overrides know no app's section.
    // @ts-expect-error `alerts` is the spending alerts' section, not the platform's
    const platformOnly: ConfigOverrides = { ...DEFAULT_CONFIG, alerts: spendAlertsConfig({}).alerts };
    // Built, the typos are kept as given: nothing at run time would have caught them.
    expect(typos.map((build) => Object.keys(build())).map((keys) => keys.includes('wrehouse') || keys.includes('stationAlerts'))).toEqual([true, true]);
    expect(Object.keys(platformOnly)).toContain('alerts');
  });
});

describe("the shipped apps' pages", () => {
  it('that the build reads are those the apps declare to the server, so every page served was built', () => {
    expect(SHIPPED_PAGES).toEqual(SHIPPED_APPS.flatMap((app) => (app.web ? [app.web] : [])));
    expect(SHIPPED_PAGES.flatMap((web) => web.pages ?? []).map((page) => page.path)).toEqual(['app']);
    expect(SHIPPED_PAGES.flatMap((web) => web.consolePages ?? []).map((page) => page.id)).toEqual(['stations']);
  });
});
