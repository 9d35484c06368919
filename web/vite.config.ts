/**
 * The browser pages: the customer app (/app/) and the operator console (/console/), one multi-page build.
 * `vite build --config web/vite.config.ts` writes dist/web/{app,console}/index.html, the hashed bundles in
 * dist/web/assets/ and the public files (manifest, service worker, icons) under dist/web/app/.
 * The server serves that directory (src/web/); in development `vite --config web/vite.config.ts` serves the
 * pages and proxies the APIs to a running server (TOLLSTREAM_ENDPOINT, default http://127.0.0.1:4566).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.TOLLSTREAM_ENDPOINT ?? 'http://127.0.0.1:4566';

export default defineConfig({
  root,
  base: '/',
  publicDir: fileURLToPath(new URL('./public', import.meta.url)),
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // Small pages: a source map would double what is shipped for little use in production.
    sourcemap: false,
    rolldownOptions: {
      input: {
        app: fileURLToPath(new URL('./app/index.html', import.meta.url)),
        console: fileURLToPath(new URL('./console/index.html', import.meta.url)),
      },
    },
  },
  server: {
    proxy: { '/v1': api, '/metrics': api, '/health': api },
  },
});
