/**
 * The apps the server ships with: the one place that names them. The entry point (`tollstream up`) hands this
 * list to `startServer`; the platform itself imports nothing from `src/apps/`.
 */
import type { App } from '../app-contract/index.ts';
import { spendAlertsApp } from './abc-tolls/index.ts';
import { stationAlertsApp } from './station-alerts/index.ts';

export const SHIPPED_APPS: readonly App[] = [spendAlertsApp, stationAlertsApp];
