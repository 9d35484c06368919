/**
 * The browser pages of the shipped apps, for the build (`web/vite.config.ts`), which builds them with the console.
 * Apart from `index.ts` so that the build loads only what the apps declare of their pages, not the apps; the
 * server learns the same declarations from each `App` (`web`).
 */
import type { WebPages } from '../web/index.ts';
import { SPEND_ALERTS_PAGES } from './abc-tolls/pages.ts';
import { STATION_ALERTS_PAGES } from './station-alerts/pages.ts';

export const SHIPPED_PAGES: readonly WebPages[] = [SPEND_ALERTS_PAGES, STATION_ALERTS_PAGES];
