/**
 * The ABC Tolls app's browser page: the customer app at /app/ (phone first, installable; its service worker,
 * manifest and icons beside it), whose sources are in `web/`. Read by the build and, through the `App`, the server.
 */
import { fileURLToPath } from 'node:url';
import type { WebPages } from '../../web/index.ts';

export const SPEND_ALERTS_PAGES: WebPages = {
  dir: fileURLToPath(new URL('./web/', import.meta.url)),
  pages: [{ path: 'app', title: 'the ABC Tolls app', html: 'index.html', publicDir: 'public' }],
};
