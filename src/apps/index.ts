/**
 * The apps the server ships with: the one place that names them. The entry point (`tollstream up`) hands this
 * list to `startServer`; the platform itself imports nothing from `src/apps/`.
 */
import type { App } from '../app-contract/index.ts';
import type { ConfigOverrides } from '../config/index.ts';
import { spendAlertsApp, type SpendAlertsSettings } from './abc-tolls/index.ts';
import { stationAlertsApp, type StationAlertsSettings, type StationReferenceSettings } from './station-alerts/index.ts';

export const SHIPPED_APPS: readonly App[] = [spendAlertsApp, stationAlertsApp];

/** The config sections of the shipped apps, by name, as a config built by hand holds them. */
export interface ShippedAppSections {
  readonly alerts: SpendAlertsSettings;
  readonly stationAlerts: StationAlertsSettings;
  readonly reference: StationReferenceSettings;
}

/** Changes to a config built by hand for a server that runs the shipped apps: their sections and the platform's, nothing else. */
export type ShippedConfigOverrides = ConfigOverrides<ShippedAppSections>;
