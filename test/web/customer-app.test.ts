/**
 * The customer app in headless Chromium against a real server: alerts stay on screen offline (never "no alerts
 * yet" to a customer who has alerts), the trip history shows what the API lists with the same total, and the
 * device-alerts button subscribes the browser to Web Push, which then carries the breach to a local push
 * service (the browser's own push service cannot be reached here, so the browser's subscription is replaced by
 * one at the local service; everything after it is the real path), and the service worker shows a push.
 * Screenshots go to test-artifacts/web/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPushService, type PushService } from '../support/push-service.ts';
import { buildWeb, sendTolls, startWebStack, toll, type WebStack } from './harness.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/web');
const PHONE = { width: 375, height: 812 };

let stack: WebStack;
let browser: Browser;
let webRoot: string;
let push: PushService;

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-web-build-'));
  await buildWeb(webRoot);
  stack = await startWebStack({ webRoot });
  push = await startPushService();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await push?.close();
  await stack?.close();
  if (webRoot) fs.rmSync(webRoot, { recursive: true, force: true });
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
});
