/**
 * The web pages against a real server, for the browser tests: a `startServer` instance (log, warehouse,
 * deliveries, spending alerts, the customer API, the native API, /metrics and the pages built into a temp
 * folder) with an API key.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashApiKey } from '../../src/gateway/auth/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SPEND_ALERTS_DEFAULTS, spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { waitFor } from '../support/wait.ts';

const repo = path.resolve(import.meta.dirname, '../..');

/** Builds the pages into `outDir` with the project's Vite config (about 3 s). */
export async function buildWeb(outDir: string): Promise<void> {
  await promisify(execFile)(path.join(repo, 'node_modules/.bin/vite'), ['build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: repo, timeout: 120_000 });
}

/** Headless Chromium from Debian's package, without the background traffic of a desktop browser. */
function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface WebStack {
  /** The server: pages, APIs and metrics on one port. */
  readonly url: string;
  readonly server: RunningServer;
  /** The operator's API key (the server requires it on /v1). */
  readonly apiKey: string;
  close(): Promise<void>;
}

/** What a stack may add to the defaults: push services its subscriptions may use, an SMTP relay for alert emails. */
export interface StackOptions {
  readonly pushServices?: readonly string[];
  /** Alert emails through this relay; without it the server sends none (`alerts.email` not set up). */
  readonly smtp?: { readonly host: string; readonly port: number };
  /** The notifications' retry schedule (`notify.retry`), short so a failing webhook is dead-lettered within the test. @default the config's */
  readonly notifyRetry?: TollstreamConfig['notify']['retry'];
}

export async function startWebStack(options: StackOptions & { webRoot: string }): Promise<WebStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-web-e2e-'));
  const apiKey = crypto.randomBytes(18).toString('base64url');
  const undo: Array<() => Promise<void> | void> = [() => fs.rmSync(dataDir, { recursive: true, force: true })];
  const close = async () => {
    for (const step of undo.splice(0)) await step();
  };
  try {
    const server = await startServer(
      {
        ...DEFAULT_CONFIG,
        dataDir,
        host: '127.0.0.1',
        port: 0,
        logging: { level: 'silent', format: 'json' },
        auth: { accessKeys: [], apiKeys: [hashApiKey(apiKey)] },
        ...spendAlertsConfig({
          enabled: true,
          timeZone: 'UTC',
          ...(options.pushServices ? { pushServices: options.pushServices } : {}),
          ...(options.smtp ? { email: { ...SPEND_ALERTS_DEFAULTS.email!, enabled: true, smtpHost: options.smtp.host, smtpPort: options.smtp.port, from: 'ABC Tolls <alerts@tolls.example>' } } : {}),
        }),
        // A sample a second, so the console's history charts have lines within the tests' time.
        metrics: { ...DEFAULT_CONFIG.metrics, historyIntervalSeconds: 1 },
        ...(options.notifyRetry ? { notify: { retry: options.notifyRetry } } : {}),
      },
      { apps: SHIPPED_APPS, logger: silentLogger, webRoot: options.webRoot },
    );
    undo.unshift(() => server.close());

    return { url: server.url, server, apiKey, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** What every browser test starts with: the pages built into a temp folder, a server serving them, Chromium. */
export interface BrowserStack {
  readonly stack: WebStack;
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function startBrowserStack(options: StackOptions = {}): Promise<BrowserStack> {
  const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-web-build-'));
  const undo: Array<() => Promise<void> | void> = [() => fs.rmSync(webRoot, { recursive: true, force: true })];
  const close = async () => {
    for (const step of undo.splice(0)) await step();
  };
  try {
    await buildWeb(webRoot);
    const stack = await startWebStack({ webRoot, ...options });
    undo.unshift(() => stack.close());
    const browser = await launchChromium();
    undo.unshift(() => browser.close());
    return { stack, browser, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Where the browser tests keep their screenshots. */
export const ARTIFACTS = path.join(repo, 'test-artifacts/web');

/** A console page signed in with the operator's key; `errors` collects the page's errors and console errors (not failed loads). */
export async function signedInConsole(started: BrowserStack): Promise<{ readonly context: BrowserContext; readonly page: Page; readonly errors: string[] }> {
  const errors: string[] = [];
  const context = await started.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  await page.goto(`${started.stack.url}/console/`);
  await page.getByLabel('API key').fill(started.stack.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('tr[data-stream="toll_transactions"]').waitFor();
  return { context, page, errors };
}

/** Runs `act` (a click) and answers the confirmation it raises (`accept` or `dismiss`); resolves with the question asked. */
export async function answerConfirmation(page: Page, answer: 'accept' | 'dismiss', act: () => Promise<void>): Promise<string> {
  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d[answer]();
  });
  await act();
  await waitFor('the question', () => asked !== '');
  return asked;
}

/** A request of the operator (with the API key): a string body is NDJSON, anything else JSON; the answer parsed when it is an object. */
export async function operatorCall(stack: WebStack, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${stack.apiKey}`, ...(body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'application/x-ndjson' : 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : text.startsWith('{') ? JSON.parse(text) : text };
}

/** Full-page screenshots of `page` at desktop and phone widths, `<name>-1280.png` and `<name>-375.png` in ARTIFACTS. */
export async function screenshots(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const viewport of [{ width: 1280, height: 860 }, { width: 375, height: 812 }]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(300); // charts follow their container's width
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${viewport.width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 860 });
}

/**
 * Makes the station alerts raise alerts for `plazaId`: its reference (replacing all others) expects 100 vehicles a
 * window and alerts below 50 in every slot, and it gets three vehicles in each of `windows` half-hour windows from
 * `from`. The first window is never judged and the last one is not closed, so the ones between raise an alert each.
 */
export async function quietStation(stack: WebStack, plazaId: string, from: string, windows: number): Promise<void> {
  const rows = [];
  for (let day = 0; day < 7; day++) for (let slot = 0; slot < 48; slot++) rows.push({ plaza_id: plazaId, day_of_week: day, slot, expected_count: 100, alert_threshold: 50 });
  const reference = await operatorCall(stack, 'PUT', '/v1/reference/stations', rows);
  if (reference.status !== 200) throw new Error(`loading the station reference failed: ${reference.status} ${JSON.stringify(reference.body).slice(0, 300)}`);
  const start = Date.parse(from);
  const tolls = [];
  // Each window on both shards of toll_transactions: a shard without the last window's vehicles would hold the
  // query's watermark back until its idle timeout, a minute.
  for (let w = 0; w < windows; w++) {
    for (let i = 0; i < 3; i++) tolls.push({ ...toll(customerOnShard(`C-${plazaId}-${w}${i}`, (i % 2) as 0 | 1), 100), plaza_id: plazaId, event_time: new Date(start + w * 30 * 60_000 + (5 + i) * 60_000).toISOString() });
  }
  await sendTolls(stack.url, stack.apiKey, tolls);
}

/** A customer id starting with `prefix` whose MD5 (the Kinesis partition key hash) falls in shard `shard` of a stream of two. */
function customerOnShard(prefix: string, shard: 0 | 1): string {
  for (let n = 0; ; n++) {
    const id = `${prefix}-${n}`;
    if (crypto.createHash('md5').update(id).digest()[0]! >> 7 === shard) return id;
  }
}

let sent = 0;

/** A valid toll transaction of `customerId` for `cents`, now. */
export function toll(customerId: string, cents: number): Record<string, unknown> {
  sent++;
  return {
    transaction_id: `web-${process.pid}-${sent}-${crypto.randomBytes(4).toString('hex')}`,
    customer_id: customerId,
    tag_id: `tag-${customerId}`,
    plate: `WEB${sent}`,
    plaza_id: `P0${(sent % 3) + 1}`,
    lane: 1,
    vehicle_class: 2,
    amount_cents: cents,
    currency: 'USD',
    event_time: new Date().toISOString(),
  };
}

/** Appends through the native API records endpoint, partitioned by customer (as roadside equipment does). */
export async function sendTolls(url: string, apiKey: string, records: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  const res = await fetch(`${url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${apiKey}` },
    body: records.map((r) => JSON.stringify(r)).join('\n'),
  });
  const answer = (await res.json()) as { failedRecordCount?: number };
  if (res.status !== 200 || answer.failedRecordCount !== 0) throw new Error(`sending tolls failed: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
}
