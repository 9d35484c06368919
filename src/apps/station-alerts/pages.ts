/**
 * The station alerts' page of the operator console (`#/stations`): the alerts live, acknowledgements and the
 * webhooks of the `station-alerts` topic; its source is in `web/`. Read by the build and, through the `App`, the server.
 */
import { fileURLToPath } from 'node:url';
import type { WebPages } from '../../web/index.ts';

export const STATION_ALERTS_PAGES: WebPages = {
  dir: fileURLToPath(new URL('./web/', import.meta.url)),
  consolePages: [{ id: 'stations', title: 'Station alerts', module: 'stations.ts' }],
};
