/**
 * The console's History page in headless Chromium against a real server: the chart of records in holds exactly
 * what the metrics history API holds for the same samples, after the first read, after a refresh that read only
 * the samples since the newest one shown, and after a reload. The numbers are read from the chart's own table
 * ("Numbers"), which is drawn from the data given to the chart. Screenshots go to test-artifacts/web/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historySeries, type HistoryPoint } from '../../web/src/lib/history.ts';
import { sendTolls, startBrowserStack, toll, type BrowserStack, type WebStack } from './harness.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/web');
let stack: WebStack;
let browser: Browser;
let started: BrowserStack | undefined;

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  started = await startBrowserStack();
  ({ stack, browser } = started);
}, 180_000);

afterAll(() => started?.close());

interface Shown {
  readonly labels: string[];
  /** Oldest first: the sample's time (ms) and each series' value (null for none). */
  readonly rows: Array<{ t: number; values: Array<number | null> }>;
}

/** The records-in chart's numbers as the page shows them, opening its table if it is closed. */
async function shownRecordsIn(page: Page): Promise<Shown> {
  const details = page.locator('#records-in-data');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  await details.locator('table').waitFor();
  const read = (await page.evaluate(`(() => {
    const table = document.querySelector('#records-in-data table');
    const labels = [...table.querySelectorAll('thead th')].slice(1).map((th) => th.textContent);
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => {
      const cells = [...tr.children];
      return { time: cells[0].querySelector('time').getAttribute('datetime'), values: cells.slice(1).map((c) => c.textContent) };
    });
    return { labels, rows };
  })()`)) as { labels: string[]; rows: Array<{ time: string; values: string[] }> };
  const rows = read.rows.map((r) => ({ t: Date.parse(r.time), values: r.values.map((v) => (v === '—' ? null : Number(v.replace(/,/g, '')))) }));
  return { labels: read.labels, rows: rows.reverse() };
}

/** What the API holds for the samples the page shows: the same window, drawn by the same rule. */
async function expectedRecordsIn(shown: Shown): Promise<Shown> {
  const first = shown.rows[0]!.t;
  const last = shown.rows[shown.rows.length - 1]!.t;
  const res = await fetch(`${stack.url}/v1/metrics/history?since=${first}&maxPoints=10000`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
  expect(res.status).toBe(200);
  const points = ((await res.json()) as { points: HistoryPoint[] }).points.filter((p) => p.t <= last);
  const series = historySeries(points, 'tollstream_records_in_total', 'rate', 'records').series;
  const labels = [...series.keys()];
  return { labels, rows: points.map((p, i) => ({ t: p.t, values: labels.map((l) => series.get(l)![i] ?? null) })) };
}

describe('console History page', () => {
  it('charts what the API holds, reads only new samples on each refresh, and after a reload', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    const sinces: string[] = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.pathname === '/v1/metrics/history') sinces.push(url.searchParams.get('since') ?? '');
    });
    // Tolls keep arriving while the page is open, so records in moves between samples.
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 200; i++) {
        await sendTolls(stack.url, stack.apiKey, Array.from({ length: 10 }, (_, k) => toll(`C-HIST-${k % 3}`, 100 + k)));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      await page.goto(`${stack.url}/console/`);
      await page.getByLabel('API key').fill(stack.apiKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('tr[data-stream="toll_transactions"]').waitFor();
      // The consumer view shows, per shard, the records and the seconds each consumer is behind.
      const warehouseShards = page.locator('section[aria-labelledby="consumers-h"] tr[data-consumer="warehouse"] li[data-shard^="toll_transactions/"]');
      await warehouseShards.first().locator('[data-testid="shard-lag-seconds"]').waitFor({ timeout: 30_000 });
      for (const item of await warehouseShards.all()) {
        expect(await item.getByTestId('shard-lag-records').textContent()).toMatch(/^[\d,]+ records$/);
        expect(await item.getByTestId('shard-lag-seconds').textContent()).toMatch(/^[\d.,]+ s$/);
      }
      await page.goto(`${stack.url}/console/#/history`);
      const legend = page.locator('section[aria-labelledby="records-in-h"] .u-legend', { hasText: 'toll_transactions' });
      await legend.waitFor({ timeout: 30_000 });
      // How far behind in time, one line per consumer and shard; and the dead letters held.
      await page.locator('section[aria-labelledby="lag-h"] .u-legend', { hasText: 'delivery warehouse shardId-000000000000' }).waitFor({ timeout: 30_000 });
      await page.locator('section[aria-labelledby="dead-letters-h"] .u-legend', { hasText: 'dead letters' }).waitFor({ timeout: 30_000 });

      const first = await shownRecordsIn(page);
      expect(first.labels).toContain('toll_transactions');
      expect(first).toEqual(await expectedRecordsIn(first));
      expect(sinces).toEqual(['1h']);

      // The next refresh (every 10 s) asks only for what came since the newest sample shown, and appends it.
      const newestBefore = first.rows[first.rows.length - 1]!.t;
      await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll('#records-in-data tbody tr').length > n, first.rows.length, { timeout: 30_000 });
      const refreshed = await shownRecordsIn(page);
      expect(sinces.length).toBeGreaterThan(1);
      for (const since of sinces.slice(1)) {
        expect(since).toMatch(/^\d{13}$/);
        expect(Number(since)).toBeGreaterThanOrEqual(newestBefore - 10_000);
      }
      expect(refreshed.rows[0]!.t).toBe(first.rows[0]!.t);
      expect(refreshed.rows.slice(0, first.rows.length)).toEqual(first.rows);
      expect(refreshed).toEqual(await expectedRecordsIn(refreshed));

      // A reload reads the range anew and shows the same history, kept in the log.
      sinces.length = 0;
      await page.reload();
      await legend.waitFor({ timeout: 30_000 });
      const reloaded = await shownRecordsIn(page);
      expect(sinces[0]).toBe('1h');
      expect(reloaded.rows[0]!.t).toBeLessThanOrEqual(first.rows[0]!.t);
      expect(reloaded.rows.map((r) => r.t)).toEqual(expect.arrayContaining(refreshed.rows.map((r) => r.t)));
      expect(reloaded).toEqual(await expectedRecordsIn(reloaded));
      await page.screenshot({ path: path.join(ARTIFACTS, 'console-history-numbers-1280.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      sending = false;
      await sender;
      await context.close();
    }
  }, 180_000);
});
