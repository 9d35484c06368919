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
import { chromium, type Browser } from 'playwright-core';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashApiKey } from '../../src/gateway/auth/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SPEND_ALERTS_DEFAULTS, spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';

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
