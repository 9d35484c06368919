/**
 * The console sends a notification given up after its last attempt to its webhook again, in headless Chromium
 * against a real server whose notifications try twice (`notify.retry`): a station alert whose webhook is down is
 * dead-lettered, the console lists it, a declined confirmation sends nothing, a confirmed one delivers it once to
 * the webhook (up again by then), and it leaves the list. Screenshots go to test-artifacts/web/.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/notify/index.ts';
import { waitFor } from '../support/wait.ts';
import { operatorCall, quietStation, screenshots, signedInConsole, startBrowserStack, type BrowserStack, type WebStack } from './harness.ts';

const SECRET = 'operator-webhook-secret';
let stack: WebStack;
let started: BrowserStack | undefined;
let page: Page;
let errors: string[] = [];

/** A request the operator's webhook got, with the status it answered. */
interface Received {
  readonly id: string;
  readonly body: string;
  readonly signed: boolean;
  readonly status: number;
}

/** The operator's webhook: answers 503 while `down`, 200 after. */
const webhook = { down: true, received: [] as Received[], url: '', server: undefined as Server | undefined };

beforeAll(async () => {
  webhook.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = { id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']) };
      const status = webhook.down ? 503 : 200;
      webhook.received.push({ id: headers.id, body, signed: verifyWebhook(SECRET, headers, body), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => webhook.server!.listen(0, '127.0.0.1', resolve));
  webhook.url = `http://127.0.0.1:${(webhook.server.address() as AddressInfo).port}/hooks/station-alerts`;

  // Two attempts, the second within 50 ms of the first failure: given up in well under a second, not two minutes.
  started = await startBrowserStack({ notifyRetry: { maxAttempts: 2, baseDelayMs: 50 } });
  stack = started.stack;
  ({ page, errors } = await signedInConsole(started));
}, 180_000);

afterAll(async () => {
  // Closing the browser closes the page's context.
  await started?.close();
  webhook.server?.closeAllConnections();
  await new Promise<void>((resolve) => (webhook.server ? webhook.server.close(() => resolve()) : resolve()));
});

const operator = (method: string, p: string, body?: unknown) => operatorCall(stack, method, p, body);
const shots = (name: string) => screenshots(page, name);

interface DeadLetter {
  readonly store: string;
  readonly id: number;
  readonly topic: string;
  readonly url: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly message: { plaza_id: string; window_start: string };
}

describe('console notification dead letters', () => {
  it('sends a station alert its webhook gave up on again after a confirmation: delivered once, gone from the list', async () => {
    expect((await operator('POST', '/v1/operator/subscriptions', { url: webhook.url, secret: SECRET })).status).toBe(201);
    // Three vehicles in each of three half-hour windows of a past afternoon, where P88 expects 100: the first window
    // is never judged, the second is the one alert, the third closes it.
    await quietStation(stack, 'P88', '2026-11-24T14:00:00.000Z', 3);

    const [dead] = await waitFor('the alert given up on', async () => {
      const listed = (await operator('GET', '/v1/dead-letters')).body.deadLetters as DeadLetter[];
      return listed.length > 0 && listed;
    }, { timeoutMs: 60_000 });
    const alerts = (await operator('GET', '/v1/operator/alerts')).body.alerts as Array<{ plaza_id: string; window_start: string }>;
    expect(alerts.map((a) => [a.plaza_id, a.window_start])).toEqual([['P88', '2026-11-24T14:30:00.000Z']]);
    expect(dead).toMatchObject({ topic: 'station-alerts', url: webhook.url, attempts: 2, lastError: 'HTTP 503', message: { plaza_id: 'P88', window_start: '2026-11-24T14:30:00.000Z' } });
    const key = 'station:P88:2026-11-24T14:30:00.000Z';
    expect(webhook.received.map((r) => [r.id, r.status, r.signed])).toEqual([[key, 503, true], [key, 503, true]]);

    await page.getByRole('link', { name: 'Functions & delivery' }).click();
    const letters = page.getByRole('table', { name: '1 notification given up' });
    const row = letters.locator('tbody tr', { hasText: webhook.url });
    await row.waitFor();
    expect(await row.textContent()).toContain('HTTP 503');
    await shots('console-notify-dead-letters');
    const send = row.getByRole('button', { name: `Send dead letter ${dead!.id} of ${dead!.store} again` });

    // Declined: nothing is sent, the letter stays.
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.dismiss();
    });
    await send.click();
    await waitFor('the question', () => asked !== '');
    expect(asked).toBe(`Send this station-alerts notification to ${webhook.url} again? It gets a fresh set of attempts.`);
    // A redrive wakes the dispatcher at once; a second is ample for a request that should not come.
    await page.waitForTimeout(1000);
    expect(webhook.received).toHaveLength(2);
    expect(((await operator('GET', '/v1/dead-letters')).body.deadLetters as DeadLetter[]).map((d) => d.id)).toEqual([dead!.id]);
    expect(await send.isEnabled()).toBe(true);

    // The webhook is back; confirmed: delivered once, and the letter leaves the list.
    webhook.down = false;
    page.once('dialog', (d) => void d.accept());
    await send.click();
    await page.getByRole('status').filter({ hasText: `Notification ${dead!.id} of ${dead!.store} queued again.` }).waitFor();
    await page.getByText('None: every notification reached its webhook, browser or mailbox.').waitFor();
    await waitFor('the delivery', () => webhook.received.length > 2);
    await shots('console-notify-dead-letters-redriven');
    expect(((await operator('GET', '/v1/dead-letters')).body.deadLetters as DeadLetter[])).toEqual([]);
    // Delivered: nothing more is pending, so a repeat could no longer come.
    await waitFor('no delivery pending', async () => /tollstream_notify_deliveries_pending(\{[^}]*\})? 0\n/.test((await operator('GET', '/metrics')).body as string));
    expect(webhook.received.slice(2).map((r) => [r.id, r.status, r.signed])).toEqual([[key, 200, true]]);
    expect(JSON.parse(webhook.received[2]!.body)).toMatchObject({ type: 'station-alerts', data: { plaza_id: 'P88', window_start: '2026-11-24T14:30:00.000Z', cause: 'below_threshold' } });
    expect(errors).toEqual([]);
  }, 150_000);
});
