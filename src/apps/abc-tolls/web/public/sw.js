// The customer app's service worker: keeps the app shell (the page, its bundles, icons) so the app opens
// offline and can say so. API answers are never cached here; the page keeps its last figures itself.
const CACHE = 'abc-tolls-shell-v1';
const SHELL = ['/app/', '/app/manifest.webmanifest', '/app/icon.svg', '/app/icon-192.png'];

/** The shell, and the bundles the page names (its script, modulepreload and stylesheet links). */
async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(SHELL);
  const page = await cache.match('/app/');
  const html = page ? await page.text() : '';
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  await cache.addAll(assets);
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname.startsWith('/app')) {
    // The page: the network first (so updates show), the cached shell when offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put('/app/', copy));
          }
          return response;
        })
        .catch(() => caches.match('/app/').then((cached) => cached || Response.error())),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/') || SHELL.includes(url.pathname)) {
    // Hashed bundles never change under the same name: the cache first, then the network (and keep it).
    event.respondWith(
      caches.match(request).then(
        (cached) =>
          cached ||
          fetch(request).then((response) => {
            if (response.ok) {
              const copy = response.clone();
              caches.open(CACHE).then((cache) => cache.put(request, copy));
            }
            return response;
          }),
      ),
    );
  }
});

// Alerts pushed by the server (Web Push, decrypted by the browser): shown even when no page of the app is open.
self.addEventListener('push', (event) => {
  let alert = {};
  try {
    alert = event.data ? event.data.json() : {};
  } catch {
    alert = { text: event.data ? event.data.text() : '' };
  }
  const title = typeof alert.title === 'string' && alert.title !== '' ? alert.title : 'ABC Tolls alert';
  const body = typeof alert.text === 'string' ? alert.text.split('\n\n')[0] : '';
  event.waitUntil(
    self.registration.showNotification(title, {
      body,
      // One notification per alert, even if the server had to send it twice.
      tag: typeof alert.id === 'string' ? alert.id : undefined,
      icon: '/app/icon-192.png',
      badge: '/app/icon-192.png',
      data: { url: '/app/#alerts' },
    }),
  );
});

// A tap on the notification opens the app (or brings an open one to the front) at the alerts.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || '/app/';
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => new URL(w.url).pathname.startsWith('/app'));
      return open ? open.focus() : self.clients.openWindow(url);
    }),
  );
});
