/**
 * The console's day-to-day operations in headless Chromium against a real server: a batch a deployed function
 * gave up on is sent to it again from the dead letters (confirmed, processed once, gone from the list).
 * Screenshots go to test-artifacts/web/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.ts';
import { startBrowserStack, type BrowserStack, type WebStack } from './harness.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/web');
let stack: WebStack;
let browser: Browser;
let started: BrowserStack | undefined;
let context: BrowserContext;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  started = await startBrowserStack();
  ({ stack, browser } = started);
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  await page.goto(`${stack.url}/console/`);
  await page.getByLabel('API key').fill(stack.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('tr[data-stream="toll_transactions"]').waitFor();
}, 180_000);

afterAll(async () => {
  await context?.close();
  await started?.close();
});

async function operator(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${stack.apiKey}`, ...(body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'application/x-ndjson' : 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : text.startsWith('{') ? JSON.parse(text) : text };
}

async function shots(name: string): Promise<void> {
  for (const viewport of [{ width: 1280, height: 860 }, { width: 375, height: 812 }]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(300); // charts follow their container's width
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${viewport.width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 860 });
}

/** A handler that fails every batch, and the fixed one that counts each payment once per record in `charged`. */
const BROKEN = `export const tables = ['charged'];
export async function handler() { throw new Error('the payment service is down'); }`;
const FIXED = `export const tables = ['charged'];
export async function handler(event, ctx) {
  await ctx.transact(async (tx) => {
    for (const r of event.records) await tx.update('charged', { pk: r.json().payment_id }, { add: { times: 1 } });
  });
}`;

describe('console dead letters', () => {
  it('sends a batch a function gave up on to it again after a confirmation: processed once, gone from the list', async () => {
    for (const name of ['payments', 'payments_failed']) expect((await operator('POST', '/v1/streams', { name, shardCount: 1 })).status).toBe(201);
    const deployed = await operator('POST', '/v1/functions', {
      name: 'charge', stream: 'payments', code: BROKEN,
      settings: { startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 0, onFailure: { stream: 'payments_failed' } },
    });
    expect(deployed.status).toBe(201);
    const payments = ['pay-1', 'pay-2', 'pay-3'];
    const put = await operator('POST', '/v1/streams/payments/records?partitionKeyField=payment_id', payments.map((p) => JSON.stringify({ payment_id: p, cents: 500 })).join('\n'));
    expect(put.status).toBe(200);
    const [dead] = await waitFor('the batch given up', async () => {
      const listed = (await operator('GET', '/v1/dead-letters')).body.functionDeadLetters as Array<{ mapping: string; batchSize: number }>;
      return listed.length > 0 && listed.reduce((n, b) => n + b.batchSize, 0) === payments.length ? listed : undefined;
    });
    // The fix is deployed; what was given up on before is not retried on its own.
    expect((await operator('PATCH', '/v1/functions/charge', { code: FIXED })).status).toBe(200);

    await page.getByRole('link', { name: 'Functions & delivery' }).click();
    const batches = page.getByRole('table', { name: /batch(es)? given up/ });
    const row = batches.locator('tbody tr', { hasText: 'charge' });
    await row.first().waitFor();
    expect(await row.first().textContent()).toContain('the payment service is down');
    await shots('console-dead-letters');

    // Declined: nothing is sent.
    page.once('dialog', (d) => void d.dismiss());
    await row.first().getByRole('button', { name: /Send the batch of charge/ }).click();
    await page.waitForTimeout(500);
    expect((await operator('GET', '/v1/tables/charged/items/pay-1')).status).toBe(404);

    // Confirmed: the function processes the batch, and it leaves the list.
    const rows = await row.count();
    for (let i = 0; i < rows; i++) {
      let question = '';
      page.once('dialog', (d) => {
        question = d.message();
        void d.accept();
      });
      await row.first().getByRole('button', { name: /Send the batch of charge/ }).click();
      await page.getByRole('status').filter({ hasText: /charge processed the \d+ records of the batch/ }).waitFor();
      expect(question).toMatch(/^Send these \d+ records of payments \(shardId-000000000000\) to charge again\?/);
    }
    await page.getByText('None: no function mapping with an on-failure destination has given up on a batch.').waitFor();
    await shots('console-dead-letters-redriven');
    for (const p of payments) expect((await operator('GET', `/v1/tables/charged/items/${p}`)).body).toMatchObject({ value: { times: 1 } });
    expect((await operator('GET', '/v1/dead-letters')).body.functionDeadLetters).toEqual([]);
    expect(dead!.mapping).toBe('charge');
    expect(errors).toEqual([]);
  }, 120_000);
});
