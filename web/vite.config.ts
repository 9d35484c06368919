/**
 * The browser pages: the operator console (/console/) and the pages the apps declare (`src/apps/web.ts`: the ABC
 * Tolls customer app at /app/, the station alerts' console page), one multi-page build.
 * `vite build --config web/vite.config.ts` writes dist/web/console/index.html, each app page's
 * dist/web/<path>/index.html with its public files (the customer app's manifest, service worker, icons), the
 * console pages of the apps under dist/web/console/pages/ and the hashed bundles in dist/web/assets/.
 * The server serves that directory (src/web/); in development `vite --config web/vite.config.ts` serves the
 * pages from their sources and proxies the APIs to a running server (TOLLSTREAM_ENDPOINT, default http://127.0.0.1:4566).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { SHIPPED_PAGES } from '../src/apps/web.ts';
import { appPages, builtPages } from './app-pages.ts';

// The repository, so that the console's sources (web/) and the apps' (src/apps/*/web/) are inside the root.
const root = fileURLToPath(new URL('..', import.meta.url));
const api = process.env.TOLLSTREAM_ENDPOINT ?? 'http://127.0.0.1:4566';
const pages = builtPages(fileURLToPath(new URL('./console/index.html', import.meta.url)), SHIPPED_PAGES);

export default defineConfig({
  root,
  base: '/',
  // Each page brings its own public folder (copied by the plugin), so that no page's files are in another's folder.
  publicDir: false,
  plugins: [appPages(root, pages, SHIPPED_PAGES)],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // Small pages: a source map would double what is shipped for little use in production.
    sourcemap: false,
    rolldownOptions: {
      input: Object.fromEntries(pages.map((page) => [page.path, page.html])),
    },
  },
  // Only the pages' own entries, not every HTML file under the repository.
  optimizeDeps: { entries: pages.map((page) => page.html) },
  server: {
    proxy: { '/v1': api, '/metrics': api, '/health': api },
  },
});
