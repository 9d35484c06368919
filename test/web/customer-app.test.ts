/**
 * The customer app in headless Chromium against a real server: alerts stay on screen offline (never "no alerts
 * yet" to a customer who has alerts), the trip history shows what the API lists with the same total, page by page
 * with "Show more" past the first 25, and the
 * device-alerts button subscribes the browser to Web Push, which then carries the breach to a local push
 * service (the browser's own push service cannot be reached here, so the browser's subscription is replaced by
 * one at the local service; everything after it is the real path), and the service worker shows a push. This
 * server sends no alert emails, and the app says so rather than offering a choice that does nothing.
 * Screenshots go to test-artifacts/web/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPushService, type PushService } from '../support/push-service.ts';
import { sendTolls, startBrowserStack, toll, type BrowserStack, type WebStack } from './harness.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/web');
const PHONE = { width: 375, height: 812 };

let stack: WebStack;
let browser: Browser;
let started: BrowserStack | undefined;
let push: PushService;

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  push = await startPushService();
  started = await startBrowserStack({ pushServices: [push.origin] });
  ({ stack, browser } = started);
}, 180_000);

afterAll(async () => {
  await started?.close();
  await push?.close();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${page.viewportSize()?.width ?? 0}.png`), fullPage: true });
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  return errors;
}

async function call(method: string, p: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** A customer with a token and a threshold. */
async function newCustomer(id: string, thresholdCents: number): Promise<string> {
  expect((await call('POST', '/v1/customers', stack.apiKey, { customer_id: id, name: 'Ada Lovelace', email: `${id}@example.com` })).status).toBe(201);
  const token = (await call('POST', `/v1/customers/${id}/tokens`, stack.apiKey)).body.token as string;
  expect((await call('PUT', '/v1/me/threshold', token, { threshold_cents: thresholdCents })).status).toBe(200);
  return token;
}

/** This month's trips as the API lists them in one page, once the warehouse holds `count` of them. */
async function tripsListed(token: string, count: number): Promise<{ status: number; body: any }> {
  const month = new Date().toISOString().slice(0, 7);
  const deadline = Date.now() + 30_000;
  let api = await call('GET', `/v1/me/trips?month=${month}&limit=500`, token);
  while (api.body.transactions !== count) {
    if (Date.now() > deadline) throw new Error(`the warehouse did not list the tolls: ${JSON.stringify(api.body).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 100));
    api = await call('GET', `/v1/me/trips?month=${month}&limit=500`, token);
  }
  return api;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${stack.url}/app/`);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('total').waitFor();
}

describe('customer app', () => {
  it('keeps showing the alerts it had when it opens offline, and says it is offline', async () => {
    const token = await newCustomer('C-WEB-OFF1', 1000);
    await sendTolls(stack.url, stack.apiKey, [toll('C-WEB-OFF1', 1500)]);
    const context = await browser.newContext({ viewport: PHONE, serviceWorkers: 'allow' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page, token);
      const alert = page.locator('li.note');
      await alert.waitFor({ timeout: 30_000 });
      expect(await alert.textContent()).toContain('passed your $10.00 alert threshold');
      await page.evaluate('navigator.serviceWorker.ready.then(() => true)');

      await context.setOffline(true);
      await page.reload();
      await page.getByText('You are offline.').first().waitFor();
      // Once the failed requests have settled, the list shows what it had, not an empty inbox.
      await page.locator('#alerts li:not(:has-text("Loading"))').first().waitFor();
      expect(await page.locator('#alerts li').first().textContent()).toContain('passed your $10.00 alert threshold');
      expect(await page.getByText('No alerts yet').count()).toBe(0);
      await page.getByText(/These are your alerts as of/).waitFor();
      await shot(page, 'app-offline-alerts');

      await context.setOffline(false);
      await page.getByText('Live: new alerts appear here').waitFor({ timeout: 30_000 });
      expect(await page.getByText(/These are your alerts as of/).isHidden()).toBe(true);
      expect(await page.locator('li.note').count()).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('on a server that sends no alert emails, says so and offers no email choice', async () => {
    const token = await newCustomer('C-WEB-NOMAIL', 1_000_000);
    expect((await call('GET', '/v1/me', token)).body).toMatchObject({ email_alerts: true, email_alerts_available: false });
    const context = await browser.newContext({ viewport: PHONE });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page, token);
      await page.getByText('Alerts are not emailed: email is not set up on this server.').waitFor();
      expect(await page.getByText(/Alerts are also emailed to/).count()).toBe(0);
      expect(await page.getByLabel('Email me my alerts').isVisible()).toBe(false);
      await shot(page, 'app-email-not-set-up');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('shows the month\'s trips as the API lists them, with the same total', async () => {
    const token = await newCustomer('C-WEB-TRIP', 1_000_000);
    const sent = [toll('C-WEB-TRIP', 125), toll('C-WEB-TRIP', 250), toll('C-WEB-TRIP', 375), toll('C-WEB-TRIP', 1000)];
    await sendTolls(stack.url, stack.apiKey, sent);
    // The warehouse loads within its buffer interval: wait for the API to list all four.
    const api = await tripsListed(token, sent.length);
    expect(api.body.total_cents).toBe(1750);

    const context = await browser.newContext({ viewport: PHONE });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page, token);
      await page.locator('tr.trip').nth(sent.length - 1).waitFor();
      const ids = await page.locator('tr.trip').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
      expect(ids).toEqual(api.body.trips.map((t: { transaction_id: string }) => t.transaction_id));
      expect(await page.getByTestId('trips-total').textContent()).toBe('$17.50');
      const amounts = await page.locator('tr.trip td.num').allTextContents();
      expect(amounts).toEqual(api.body.trips.map((t: { amount_cents: number }) => `$${(t.amount_cents / 100).toFixed(2)}`));
      expect(await page.locator('.trips-total').textContent()).toContain('in 4 tolls');
      // The table fits a phone's width: nothing scrolls sideways.
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      expect(await page.evaluate("(() => { const t = document.querySelector('table.trips').getBoundingClientRect(); const c = document.querySelector('table.trips').closest('.card').getBoundingClientRect(); return t.right <= c.right; })()")).toBe(true);
      await shot(page, 'app-trips');

      // The month before has none.
      await page.getByRole('button', { name: 'Previous month' }).click();
      await page.getByText(/^No tolls in /).waitFor();
      expect(await page.getByTestId('trips-total').textContent()).toBe('$0.00');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('pages through more trips than one page holds with "Show more": each toll listed once, the total the sum of the rows and the API\'s', async () => {
    const token = await newCustomer('C-WEB-PAGES', 1_000_000);
    // 60 tolls: three pages of the app's 25, sent at once so many share a timestamp (the paging must still split them cleanly).
    const sent = Array.from({ length: 60 }, (_, i) => toll('C-WEB-PAGES', 100 + i * 7));
    const sentCents = sent.reduce((sum, t) => sum + (t.amount_cents as number), 0);
    await sendTolls(stack.url, stack.apiKey, sent);
    const api = await tripsListed(token, sent.length);
    expect(api.body.total_cents).toBe(sentCents);
    expect(api.body.trips).toHaveLength(sent.length);

    const context = await browser.newContext({ viewport: PHONE });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page, token);
      const rows = page.locator('tr.trip');
      const more = page.getByRole('button', { name: 'Show more' });
      await rows.nth(24).waitFor();
      expect(await rows.count()).toBe(25);
      await page.getByText('Showing the newest 25.', { exact: false }).waitFor();
      let clicks = 0;
      while (await more.isVisible()) {
        const before = await rows.count();
        await more.click();
        clicks++;
        await rows.nth(before).waitFor();
        expect(clicks).toBeLessThanOrEqual(2);
      }
      expect(clicks).toBe(2);
      expect(await rows.count()).toBe(sent.length);
      expect(await page.getByText(/Showing the newest/).count()).toBe(0);

      const ids = await rows.evaluateAll((trs) => trs.map((r) => r.getAttribute('data-id')));
      expect(new Set(ids).size).toBe(sent.length);
      expect([...ids].sort()).toEqual(sent.map((t) => t.transaction_id as string).sort());
      expect(ids).toEqual(api.body.trips.map((t: { transaction_id: string }) => t.transaction_id));
      const rowCents = (await page.locator('tr.trip td.num').allTextContents()).map((text) => Math.round(Number(text.replace(/[$,]/g, '')) * 100));
      const rowSum = rowCents.reduce((sum, c) => sum + c, 0);
      expect(rowSum).toBe(sentCents);
      expect(await page.getByTestId('trips-total').textContent()).toBe(`$${(api.body.total_cents / 100).toFixed(2)}`);
      expect(await page.locator('.trips-total').textContent()).toContain(`in ${sent.length} tolls`);
      await shot(page, 'app-trips-paged');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('subscribes the device to Web Push, and the breach reaches the push service signed and decrypted; the service worker shows a push', async () => {
    const token = await newCustomer('C-WEB-PUSH', 500);
    const device = push.subscribe();
    const context = await browser.newContext({ viewport: PHONE, serviceWorkers: 'allow' });
    await context.grantPermissions(['notifications'], { origin: stack.url });
    // The browser's push service is out of reach here: its subscribe() gives a subscription at the local one.
    await context.addInitScript(`(() => {
      const device = ${JSON.stringify(device)};
      const subscription = {
        endpoint: device.endpoint,
        expirationTime: null,
        toJSON: () => ({ endpoint: device.endpoint, expirationTime: null, keys: device.keys }),
        unsubscribe: async () => { localStorage.removeItem('test.push'); return true; },
      };
      PushManager.prototype.subscribe = async function (options) {
        const key = new Uint8Array(options.applicationServerKey);
        localStorage.setItem('test.push', btoa(String.fromCharCode(...key)).replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', ''));
        return subscription;
      };
      PushManager.prototype.getSubscription = async function () { return localStorage.getItem('test.push') ? subscription : null; };
    })()`);
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await signIn(page, token);
      await page.getByRole('button', { name: 'Alert me on this device' }).click();
      await page.getByText('Alerts reach this device even when the app is closed.').waitFor();
      const key = (await call('GET', '/v1/me/push', token)).body.application_server_key;
      expect(await page.evaluate('localStorage.getItem("test.push")')).toBe(key);
      await shot(page, 'app-push-on');

      await sendTolls(stack.url, stack.apiKey, [toll('C-WEB-PUSH', 300), toll('C-WEB-PUSH', 300)]);
      const deadline = Date.now() + 30_000;
      while (!push.received.some((r) => r.subscription === device.endpoint.split('/').pop())) {
        if (Date.now() > deadline) throw new Error('no push reached the push service');
        await new Promise((r) => setTimeout(r, 100));
      }
      const got = push.received.find((r) => r.subscription === device.endpoint.split('/').pop())!;
      expect(got.problem).toBeUndefined();
      expect(got.vapidKey).toBe(key);
      const payload = JSON.parse(got.payload!);
      expect(payload.data).toMatchObject({ type: 'threshold_breach', customer_id: 'C-WEB-PUSH', threshold_cents: 500, total_cents: 600 });

      // What the service worker does with that payload, delivered to it as the browser would.
      const cdp = await context.newCDPSession(page);
      const registration = new Promise<string>((resolve) =>
        cdp.on('ServiceWorker.workerRegistrationUpdated', (event: { registrations: Array<{ registrationId: string; scopeURL: string; isDeleted: boolean }> }) => {
          const found = event.registrations.find((r) => r.scopeURL.endsWith('/app/') && !r.isDeleted);
          if (found) resolve(found.registrationId);
        }),
      );
      await cdp.send('ServiceWorker.enable');
      const registrationId = await registration;
      await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: new URL(stack.url).origin, registrationId, data: got.payload! });
      // Polled here: waitForFunction takes a promise for a truthy answer and would return before the worker showed it.
      const shownBy = Date.now() + 15_000;
      let shown: Array<{ title: string; body: string; tag: string }> = [];
      while (shown.length === 0) {
        if (Date.now() > shownBy) throw new Error('the service worker showed no notification for the push');
        shown = (await page.evaluate(
          `navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((n) => n.map((x) => ({ title: x.title, body: x.body, tag: x.tag })))`,
        )) as typeof shown;
        if (shown.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(shown).toEqual([{ title: payload.title, body: payload.text.split('\n\n')[0], tag: payload.id }]);

      // Off again: the server forgets the subscription.
      await page.getByRole('button', { name: 'Stop alerts on this device' }).click();
      await page.getByText('Get alerts on this device even when the app is closed.').waitFor();
      expect((await call('DELETE', '/v1/me/push/subscriptions', token, { endpoint: device.endpoint })).status).toBe(404);

      // On again, then signing out ends the subscription: the next person on this device gets none of these alerts.
      await page.getByRole('button', { name: 'Alert me on this device' }).click();
      await page.getByText('Alerts reach this device even when the app is closed.').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Access token').waitFor();
      const until = Date.now() + 10_000;
      while ((await page.evaluate('localStorage.getItem("test.push")')) !== null) {
        if (Date.now() > until) throw new Error('signing out left the browser subscribed');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await call('DELETE', '/v1/me/push/subscriptions', token, { endpoint: device.endpoint })).status).toBe(404);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
