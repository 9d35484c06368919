/**
 * The pages in headless Chromium against a real server: a customer signs in, sets a threshold, tolls sent
 * through the native API pass it and the alert appears in the open app without a reload; the app keeps
 * working offline; the operator console shows ingest rates moving, runs SQL, creates, explains, stops and
 * drops a continuous query, and shows the other pages.
 * Screenshots of every page at 375 px and at desktop width go to test-artifacts/web/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type SmtpTestServer } from '../support/smtp-server.ts';
import { sendTolls, startBrowserStack, toll, type BrowserStack, type WebStack } from './harness.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/web');
/** A continuous query for the console test: trips and spend per customer in 10-second windows. */
const WEB_QUERY_SQL = `CREATE TABLE tolls (
  customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH ('stream' = 'toll_transactions');

CREATE TABLE web_spend_10s (window_start TIMESTAMP(3), customer_id VARCHAR(16), trips BIGINT, total_cents BIGINT)
  WITH ('stream' = 'web_spend_10s');

INSERT INTO web_spend_10s
SELECT window_start, customer_id, COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, customer_id;
`;
const PHONE = { width: 375, height: 812 };
const DESKTOP = { width: 1280, height: 860 };

let stack: WebStack;
let browser: Browser;
let started: BrowserStack | undefined;
let smtp: SmtpTestServer | undefined;

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // A server that sends alert emails, so the app offers to stop and start them.
  smtp = await startSmtpServer();
  started = await startBrowserStack({ smtp });
  ({ stack, browser } = started);
}, 180_000);

afterAll(async () => {
  await started?.close();
  await smtp?.close();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  const width = page.viewportSize()?.width ?? 0;
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
}

/** Screenshots at desktop width and at 375 px, leaving the page at desktop width. */
async function shots(page: Page, name: string): Promise<void> {
  await page.setViewportSize(DESKTOP);
  await shot(page, name);
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(300); // charts follow their container's width
  await shot(page, name);
  await page.setViewportSize(DESKTOP);
}

/** Form fields without a label (by id or name): every input, select and textarea must have one. */
async function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
    .map((el) => el.id || el.name || el.outerHTML.slice(0, 60))`);
}

/** Errors the page logged or threw, except failed requests the test caused on purpose (offline). */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  return errors;
}

async function operator(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${stack.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

async function newCustomer(id: string): Promise<string> {
  const created = await operator('POST', '/v1/customers', { customer_id: id, name: 'Ada Lovelace', email: `${id}@example.com` });
  expect(created.status).toBe(201);
  const issued = await operator('POST', `/v1/customers/${id}/tokens`);
  expect(issued.status).toBe(201);
  return issued.body.token as string;
}

describe('customer app', () => {
  it('shows the alert of a passed threshold live, without a reload, and keeps working offline', async () => {
    const token = await newCustomer('C-WEB-0001');
    const context = await browser.newContext({ viewport: PHONE, serviceWorkers: 'allow' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await page.goto(`${stack.url}/app/`);
      await page.getByLabel('Access token').waitFor();
      await shot(page, 'app-signin');

      // A wrong token is refused with a message; the right one signs in.
      await page.getByLabel('Access token').fill('not-a-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('That access token was not accepted').waitFor();
      await page.getByLabel('Access token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('total').waitFor();
      expect(await page.getByTestId('total').textContent()).toBe('$0.00');
      await page.getByText('Live: new alerts appear here').waitFor();
      await page.evaluate('window.__sameDocument = true');

      // The threshold form validates in dollars and sends cents.
      const threshold = page.getByLabel('Alert me when my spending this month passes');
      await threshold.fill('12.345');
      await page.getByRole('button', { name: 'Save threshold' }).click();
      await page.getByText('Use at most two decimal places').waitFor();
      expect(await threshold.getAttribute('aria-invalid')).toBe('true');
      await threshold.fill('20');
      await threshold.press('Enter'); // keyboard only: Enter in the field submits the form
      expect(await unlabelled(page)).toEqual([]);
      await page.getByText("Saved: we will alert you when this month's spending passes $20.00.").waitFor();
      const me = await fetch(`${stack.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ threshold_cents: number }>);
      expect(me.threshold_cents).toBe(2000);
      await shot(page, 'app-threshold-set');

      // Tolls through the native API pass the threshold: the alert arrives over SSE in the open page.
      await sendTolls(stack.url, stack.apiKey, [toll('C-WEB-0001', 900), toll('C-WEB-0001', 900), toll('C-WEB-0001', 900)]);
      const alert = page.locator('li.note.unread');
      await alert.waitFor({ timeout: 30_000 });
      expect(await alert.textContent()).toContain('passed your $20.00 alert threshold');
      expect(await page.locator('.bell').getAttribute('aria-label')).toBe('Alerts, 1 unread');
      expect(await page.locator('.badge').textContent()).toBe('1');
      await page.getByTestId('total').filter({ hasText: '$27.00' }).waitFor();
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      await shot(page, 'app-alert');

      // Alert emails can be stopped and started again from the app; the server keeps the choice.
      const emailBox = page.getByLabel('Email me my alerts');
      expect(await emailBox.isChecked()).toBe(true);
      await emailBox.uncheck();
      await page.getByText('Alerts are not emailed to C-WEB-0001@example.com.').waitFor();
      const stopped = await fetch(`${stack.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ email_alerts: boolean }>);
      expect(stopped.email_alerts).toBe(false);
      await shot(page, 'app-email-alerts-off');
      await emailBox.check();
      await page.getByText('Alerts are also emailed to C-WEB-0001@example.com.').waitFor();
      const started = await fetch(`${stack.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ email_alerts: boolean }>);
      expect(started.email_alerts).toBe(true);

      // Mark read clears the badge, here and on the server.
      await page.getByRole('button', { name: /^Mark as read:/ }).click();
      await page.locator('.bell[aria-label="Alerts, none unread"]').waitFor();
      expect(await page.locator('.badge').isHidden()).toBe(true);
      const inbox = await fetch(`${stack.url}/v1/me/notifications`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ unread: number; notifications: unknown[] }>);
      expect(inbox).toMatchObject({ unread: 0 });
      expect(inbox.notifications).toHaveLength(1);

      // Offline: the banner shows; a reload still opens the app from the service worker, with the last figures.
      await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
      await context.setOffline(true);
      await page.getByText('You are offline.').waitFor();
      await page.getByText('Live alerts resume when you are back online.').waitFor();
      await shot(page, 'app-offline');
      await page.reload();
      await page.getByText('You are offline.').waitFor();
      expect(await page.getByTestId('total').textContent()).toBe('$27.00');
      await context.setOffline(false);
      await page.getByText('Live: new alerts appear here').waitFor({ timeout: 30_000 });
      expect(await page.getByText('You are offline.').isHidden()).toBe(true);

      // Signing out forgets the token.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Access token').waitFor();
      expect(await page.evaluate('localStorage.getItem("tollstream.customer.token")')).toBeNull();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('looks right at desktop width, with the chart and the alert list', async () => {
    const token = await newCustomer('C-WEB-0002');
    await sendTolls(stack.url, stack.apiKey, [toll('C-WEB-0002', 1250), toll('C-WEB-0002', 4100)]);
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await page.goto(`${stack.url}/app/`);
      await page.getByLabel('Access token').waitFor();
      await shot(page, 'app-signin');
      await page.evaluate(`localStorage.setItem('tollstream.customer.token', ${JSON.stringify(token)})`);
      await page.reload();
      await page.getByTestId('total').filter({ hasText: '$53.50' }).waitFor({ timeout: 30_000 });
      await page.getByLabel('Alert me when my spending this month passes').fill('50');
      await page.getByRole('button', { name: 'Save threshold' }).click();
      // Set below what was already spent: the alert is on its way at once.
      await page.getByText('so an alert is on its way').waitFor();
      await page.locator('li.note.unread').waitFor({ timeout: 30_000 });
      expect(await page.locator('.chart canvas').count()).toBe(1);
      await shot(page, 'app-alert');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});

describe('operator console', () => {
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    page = await context.newPage();
    errors = watchErrors(page);
  });
  afterAll(async () => {
    await context?.close();
  });

  it('signs in with the API key and shows ingest rates moving while tolls arrive', async () => {
    await page.goto(`${stack.url}/console/`);
    await page.getByLabel('API key').fill('wrong-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That API key was not accepted.').waitFor();
    await shots(page, 'console-signin');
    await page.getByLabel('API key').fill(stack.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const row = page.locator('tr[data-stream="toll_transactions"]');
    await row.waitFor();

    // Send tolls for a while (bounded: at most 80 requests of 25 records) until the page shows a rate.
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 80; i++) {
        await sendTolls(stack.url, stack.apiKey, Array.from({ length: 25 }, (_, k) => toll(`C-LOAD-${k % 7}`, 150 + k)));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await page.waitForFunction(
        () => {
          const cell = (globalThis as any).document.querySelector('tr[data-stream="toll_transactions"] [data-testid="records-per-second"]');
          return cell !== null && Number(cell.textContent.replace(/,/g, '')) > 0;
        },
        undefined,
        { timeout: 30_000, polling: 250 },
      );
      const rate = Number((await row.getByTestId('records-per-second').textContent())!.replace(/,/g, ''));
      expect(rate).toBeGreaterThan(0);
      const totalBefore = Number((await row.getByTestId('records-in').textContent())!.replace(/,/g, ''));
      await page.waitForFunction(
        (before) => Number((globalThis as any).document.querySelector('tr[data-stream="toll_transactions"] [data-testid="records-in"]').textContent.replace(/,/g, '')) > before,
        totalBefore,
        { timeout: 30_000, polling: 250 },
      );
      // Consumers: the warehouse delivery and the spend function, each with how far behind it is.
      await page.locator('section[aria-labelledby="consumers-h"] tr', { hasText: 'warehouse' }).waitFor();
      // The spending alerts' first function reads toll_transactions (validation, then SQL, then the threshold function).
      await page.locator('section[aria-labelledby="consumers-h"] tr', { hasText: 'abc-tolls-spend-validate' }).waitFor();
      // Deliveries and queries report their records behind per shard too, not only functions.
      await page.locator('section[aria-labelledby="consumers-h"] tr[data-consumer="warehouse"] li[data-shard^="toll_transactions/"]').first().waitFor();
      expect(await page.locator('section[aria-labelledby="consumers-h"] tr[data-consumer="warehouse"] [data-testid="lag-records"]').textContent()).toMatch(/^[\d,]+$/);
      await page.waitForTimeout(2500); // a few scrapes, so the chart has a line
      await shots(page, 'console-streams');
    } finally {
      sending = false;
      await sender;
    }
  }, 120_000);

  it('charts the history of records in, and still has it after a reload', async () => {
    await page.goto(`${stack.url}/console/#/history`);
    const records = page.locator('section[aria-labelledby="records-in-h"]');
    // The tolls of the previous test show as a line of their stream, drawn from samples kept in the log.
    await records.locator('.u-legend', { hasText: 'toll_transactions' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#history-status').textContent()).toContain('samples, one every 1 s');
    expect(await records.locator('canvas').count()).toBe(1);
    await page.reload();
    await records.locator('.u-legend', { hasText: 'toll_transactions' }).waitFor({ timeout: 30_000 });
    await page.locator('section[aria-labelledby="freshness-h"] .u-legend', { hasText: 'promise: 30 minutes' }).waitFor();
    await shots(page, 'console-history');
    expect(errors).toEqual([]);
  }, 120_000);

  it('runs SQL against the warehouse and downloads the result as CSV', async () => {
    await page.getByRole('link', { name: 'SQL' }).click();
    const sql = page.getByLabel('SQL (read-only, against the warehouse)');
    await sql.fill("SELECT customer_id, count(*) AS trips, sum(amount_cents) AS spend_cents FROM toll_transactions WHERE customer_id LIKE 'C-WEB-%' GROUP BY customer_id ORDER BY customer_id");
    // The warehouse loads within seconds (delivery buffers 1 s); run until both web customers are there.
    for (let attempt = 0; ; attempt++) {
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await page.getByTestId('sql-summary').waitFor();
      if ((await page.getByTestId('sql-summary').textContent())!.startsWith('2 rows')) break;
      if (attempt > 40) throw new Error('the warehouse did not hold both customers after 20 s');
      await page.waitForTimeout(500);
    }
    const cells = await page.locator('table tbody tr').evaluateAll((rows) => rows.map((r: any) => [...r.querySelectorAll('td')].map((td: any) => td.textContent)));
    expect(cells).toEqual([
      ['C-WEB-0001', '3', '2,700'],
      ['C-WEB-0002', '2', '5,350'],
    ]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    expect(csv).toBe('customer_id,trips,spend_cents\r\nC-WEB-0001,3,2700\r\nC-WEB-0002,2,5350\r\n');
    await shots(page, 'console-sql');
    expect(await unlabelled(page)).toEqual([]);

    // A bad statement shows the server's message.
    await sql.fill('DELETE FROM toll_transactions');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.notice.error').waitFor();
    expect(await page.locator('.notice.error').textContent()).toMatch(/WAREHOUSE_READ_ONLY|read-only/i);
  }, 120_000);

  it('creates a continuous query, shows it running with rows moving, explains it, refuses bad SQL, stops and drops it', async () => {
    await page.getByRole('link', { name: 'Queries' }).click();
    await page.getByRole('heading', { name: 'Queries on this server' }).waitFor();
    // The apps shipped with the server run queries of their own, listed before any the operator creates.
    await page.getByRole('button', { name: 'EXPLAIN abc-tolls-customer-spend' }).waitFor();
    const name = page.getByLabel('Name', { exact: true });
    const sql = page.getByLabel('SQL', { exact: true });

    // Bad SQL: the server's error points at line 2, column 20; the typed SQL stays, with the caret on the spot.
    const badSql = 'SELECT customer_id,\n  SUM(amount_cents FROM toll_transactions';
    await name.fill('web_spend');
    await sql.fill(badSql);
    await page.getByRole('button', { name: 'Create query' }).click();
    const sqlError = page.getByTestId('sql-error');
    await sqlError.waitFor();
    expect(await sqlError.textContent()).toContain('SQL error at line 2, column 20 (syntax):');
    expect(await sqlError.textContent()).toContain("expected ')' but found 'FROM'");
    expect(await sql.inputValue()).toBe(badSql);
    expect(await sql.getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate('document.activeElement.id')).toBe('query-sql');
    expect(await page.evaluate("document.activeElement.value.slice(document.activeElement.selectionStart)")).toBe('FROM toll_transactions');
    await shots(page, 'console-queries-sql-error');

    // A good query, created from the keyboard (Ctrl+Enter in the SQL field): it shows up RUNNING.
    await sql.fill(WEB_QUERY_SQL);
    await sql.press('Control+Enter');
    await page.getByRole('status').filter({ hasText: 'Query web_spend created: RUNNING.' }).waitFor(); // the screen reader announcer repeats it
    expect(await page.getByTestId('sql-error').count()).toBe(0);
    expect(await sql.inputValue()).toBe('');
    const card = page.locator('article[data-query="web_spend"]');
    await card.getByTestId('query-state').filter({ hasText: 'RUNNING' }).waitFor();
    expect(await card.getByTestId('inputs').textContent()).toBe('toll_transactions');
    expect(await card.getByTestId('outputs').textContent()).toBe('web_spend_10s');
    // Creating the same name again is refused at the name field.
    await name.fill('web_spend');
    await sql.fill(WEB_QUERY_SQL);
    await page.getByRole('button', { name: 'Create query' }).click();
    await page.getByText(/already exists/).waitFor();
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    await name.fill('');
    await sql.fill('');

    // Tolls arrive (bounded: at most 80 requests of 20 records): rows in per second and in total move.
    const number = async (testid: string) => Number((await card.getByTestId(testid).textContent())!.replace(/,/g, ''));
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 80; i++) {
        await sendTolls(stack.url, stack.apiKey, Array.from({ length: 20 }, (_, k) => toll(`C-QRY-${k % 5}`, 100 + k)));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await page.waitForFunction(
        () => Number((globalThis as any).document.querySelector('article[data-query="web_spend"] [data-testid="rows-in-per-second"]').textContent.replace(/,/g, '')) > 0,
        undefined,
        { timeout: 30_000, polling: 250 },
      );
      const before = await number('rows-in-total');
      expect(before).toBeGreaterThan(0);
      await page.waitForFunction(
        (b) => Number((globalThis as any).document.querySelector('article[data-query="web_spend"] [data-testid="rows-in-total"]').textContent.replace(/,/g, '')) > b,
        before,
        { timeout: 30_000, polling: 250 },
      );
      // Event times are now: the watermark follows them, and a checkpoint has been taken.
      await card.getByTestId('last-checkpoint').filter({ hasText: /^#\d+/ }).waitFor({ timeout: 15_000 });
      expect(await card.getByTestId('watermark').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    } finally {
      sending = false;
      await sender;
    }

    // EXPLAIN opens the plan under the card.
    const explain = card.getByRole('button', { name: 'EXPLAIN web_spend' });
    await explain.click();
    await card.getByTestId('plan').waitFor();
    expect(await card.getByTestId('plan').textContent()).toMatch(/TumblingWindowAggregate \[tumble size=10s/);
    expect(await explain.getAttribute('aria-expanded')).toBe('true');
    await card.locator('details summary').click(); // the SQL, folded away by default
    await shots(page, 'console-queries');
    expect(await unlabelled(page)).toEqual([]);
    // On a phone the long SQL and plan lines scroll inside their boxes; the page itself does not scroll sideways.
    await page.setViewportSize(PHONE);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await page.setViewportSize(DESKTOP);

    // Stop (from the keyboard), then Resume comes in its place.
    await card.getByRole('button', { name: 'Stop web_spend' }).press('Enter');
    await card.getByTestId('query-state').filter({ hasText: 'STOPPED' }).waitFor();
    await card.getByRole('button', { name: 'Resume web_spend' }).waitFor();
    expect((await operator('GET', '/v1/queries/web_spend')).body.state).toBe('STOPPED');

    // Drop asks first: cancelling keeps the query, accepting drops it.
    page.once('dialog', (d) => void d.dismiss());
    await card.getByRole('button', { name: 'Drop web_spend' }).click();
    await page.waitForTimeout(300);
    expect((await operator('GET', '/v1/queries/web_spend')).status).toBe(200);
    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await card.getByRole('button', { name: 'Drop web_spend' }).click();
    await page.getByRole('status').filter({ hasText: 'Query web_spend dropped.' }).waitFor(); // the screen reader announcer repeats it
    await page.getByRole('button', { name: 'Drop web_spend' }).waitFor({ state: 'detached' });
    expect(asked).toContain('Drop the query web_spend?');
    expect((await operator('GET', '/v1/queries/web_spend')).status).toBe(404);
    expect(errors).toEqual([]);
  }, 120_000);

  it('shows deliveries, reports and a live tail', async () => {
    await page.getByRole('link', { name: 'Functions & delivery' }).click();
    await page.locator('table tbody tr', { hasText: 'warehouse' }).first().waitFor();
    await page.getByTestId('warehouse-freshness').waitFor();
    await page.getByRole('table', { name: 'Event source mappings' }).locator('tr', { hasText: 'abc-tolls-spend-validate' }).waitFor();
    await shots(page, 'console-delivery');
    expect(await unlabelled(page)).toEqual([]);

    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByLabel('Report', { exact: true }).selectOption('revenue_by_plaza_hour');
    await page.getByRole('button', { name: 'Run report' }).click();
    await page.getByRole('table', { name: 'revenue_by_plaza_hour' }).waitFor();
    await shots(page, 'console-reports');
    expect(await unlabelled(page)).toEqual([]);
    // Revenue is charted as money, one series per plaza.
    const revenueLegend = await page.locator('.chart .u-legend .u-label').allTextContents();
    expect(revenueLegend.length).toBeGreaterThan(0);
    expect(revenueLegend.every((l) => /^revenue_cents P\d+$/.test(l))).toBe(true);

    // The station report charts vehicles against the expected count, and the alert threshold as a dashed line:
    // with no traffic at the plaza, vehicles lie on zero, expected at 100 and the threshold halfway, at 50.
    const rows = [];
    for (let day = 0; day < 7; day++) for (let slot = 0; slot < 48; slot++) rows.push({ plaza_id: 'P-CHART', day_of_week: day, slot, expected_count: 100, alert_threshold: 50 });
    expect((await operator('PUT', '/v1/reference/stations', rows)).status).toBe(200);
    await page.getByLabel('Report', { exact: true }).selectOption('station_traffic_vs_expected');
    await page.getByLabel('Plaza id').fill('P-CHART');
    await page.getByRole('button', { name: 'Run report' }).click();
    await page.getByRole('table', { name: 'station_traffic_vs_expected' }).waitFor();
    const stationChart = page.getByRole('img', { name: 'Chart of vehicles, expected_count by period_start, with alert_threshold as a dashed line; the numbers are in the table below.' });
    await stationChart.waitFor();
    expect(await stationChart.locator('.u-legend .u-label').allTextContents()).toEqual(['vehicles', 'expected_count', 'alert_threshold']);
    await shots(page, 'console-reports-station');
    // The canvas rows where each series is drawn, by its colour (the median row of the pixels of that colour).
    const drawnAt: Record<string, number | null> = await page.evaluate(`(() => {
      const canvas = document.querySelector('.chart[aria-label^="Chart of vehicles"] canvas');
      const { width, height } = canvas;
      const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
      const colours = { vehicles: [0x0a, 0x58, 0xb0], expected: [0x1b, 0x7f, 0x3b], threshold: [0xc6, 0x28, 0x28] };
      const out = {};
      for (const [name, [r, g, b]] of Object.entries(colours)) {
        const ys = [];
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const i = (y * width + x) * 4;
            if (Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b) < 30 && pixels[i + 3] > 200) ys.push(y);
          }
        }
        out[name] = ys.length < 20 ? null : ys[Math.floor(ys.length / 2)];
      }
      return out;
    })()`);
    expect(drawnAt.threshold).not.toBeNull();
    expect(drawnAt.expected).not.toBeNull();
    expect(drawnAt.vehicles).not.toBeNull();
    const halfway = (drawnAt.vehicles! - drawnAt.threshold!) / (drawnAt.vehicles! - drawnAt.expected!);
    expect(halfway).toBeGreaterThan(0.45);
    expect(halfway).toBeLessThan(0.55);

    await page.getByRole('link', { name: 'Live tail' }).click();
    await page.getByLabel('Stream').selectOption('toll_transactions');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText('Tailing toll_transactions').waitFor();
    const record = toll('C-TAIL-1', 4242);
    await sendTolls(stack.url, stack.apiKey, [record]);
    await page.locator('ol.tail li', { hasText: String(record.transaction_id) }).waitFor({ timeout: 20_000 });
    await shots(page, 'console-tail');
    expect(await unlabelled(page)).toEqual([]);
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByText('Stopped after').waitFor();
    expect(errors).toEqual([]);
  }, 120_000);
});
