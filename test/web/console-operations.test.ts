/**
 * The console's day-to-day operations in headless Chromium against a real server: a batch a deployed function
 * gave up on is sent to it again from the dead letters (confirmed, processed once, gone from the list); the live
 * tail starts at a time or at a sequence number and keeps only a partition key or a field's value; a station
 * alert is acknowledged; a stream's per-shard view shows each shard's key range, records and consumers' lag.
 * Screenshots go to test-artifacts/web/.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.ts';
import { operatorCall, quietStation, screenshots, signedInConsole, startBrowserStack, type BrowserStack, type WebStack } from './harness.ts';

let stack: WebStack;
let started: BrowserStack | undefined;
let context: BrowserContext;
let page: Page;
let errors: string[] = [];

beforeAll(async () => {
  started = await startBrowserStack();
  stack = started.stack;
  ({ context, page, errors } = await signedInConsole(started));
}, 180_000);

afterAll(async () => {
  await context?.close();
  await started?.close();
});

const operator = (method: string, p: string, body?: unknown) => operatorCall(stack, method, p, body);
const shots = (name: string) => screenshots(page, name);

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

/** A record of the stream `readings` as the test appended it. */
interface Reading {
  readonly n: number;
  readonly key: string;
  readonly color: string;
  sequenceNumber?: string;
  arrivedAfter?: number;
}

describe('console live tail', () => {
  const appended: Reading[] = [];
  const append = async (readings: Reading[]) => {
    const put = await operator('POST', '/v1/streams/readings/records?partitionKeyField=key', readings.map((r) => JSON.stringify({ n: r.n, key: r.key, color: r.color })).join('\n'));
    expect(put.body.failedRecordCount).toBe(0);
    readings.forEach((r, i) => {
      r.sequenceNumber = put.body.records[i].sequenceNumber;
      appended.push(r);
    });
  };
  /** The `n` of each record the page lists, oldest first. */
  const shown = async () => (await page.locator('ol.tail li pre').allTextContents()).map((t) => (JSON.parse(t) as { n: number }).n).reverse();

  /**
   * Starts the tail as set on the page, appends `sentinel` (which the settings must keep) once the record
   * `lastBefore` is listed, and returns what the page lists once the sentinel is there: the tail delivers in
   * order, so nothing it would still list can come after.
   */
  const tailUntil = async (settings: (p: Page) => Promise<void>, lastBefore: number, sentinel: Reading) => {
    await page.getByRole('link', { name: 'Live tail' }).click();
    await page.getByLabel('Stream').selectOption('readings');
    await settings(page);
    // The list and its count stay from the previous tail until cleared.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('status').filter({ hasText: 'Tailing readings:' }).waitFor();
    await page.locator('ol.tail li pre', { hasText: `"n":${lastBefore},` }).waitFor();
    await append([sentinel]);
    await page.locator('ol.tail li pre', { hasText: `"n":${sentinel.n},` }).waitFor();
    const listed = await shown();
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByText('Stopped after').waitFor();
    return listed;
  };

  it('starts at a time or a sequence number and keeps only a partition key or a field value', async () => {
    expect((await operator('POST', '/v1/streams', { name: 'readings', shardCount: 1 })).status).toBe(201);
    await append([{ n: 1, key: 'k-a', color: 'red' }, { n: 2, key: 'k-b', color: 'blue' }]);
    // The next whole second: the records after it are the ones a tail from that time shows.
    const from = Math.ceil((Date.now() + 1) / 1000) * 1000;
    await waitFor('the next second', () => Date.now() > from + 20);
    await append([{ n: 3, key: 'k-a', color: 'red' }, { n: 4, key: 'k-b', color: 'blue' }, { n: 5, key: 'k-a', color: 'blue' }]);
    const ns = (keep: (r: Reading) => boolean) => appended.filter(keep).map((r) => r.n);

    const byKey = await tailUntil(async (p) => {
      await p.getByLabel('Start at').selectOption('TRIM_HORIZON');
      await p.getByLabel('Only partition key').fill('k-a');
    }, 5, { n: 101, key: 'k-a', color: 'green' });
    expect(byKey).toEqual(ns((r) => r.key === 'k-a'));
    expect(byKey).toEqual([1, 3, 5, 101]);
    await shots('console-tail-key');

    const byField = await tailUntil(async (p) => {
      await p.getByLabel('Start at').selectOption('TRIM_HORIZON');
      await p.getByLabel('Only partition key').fill('');
      await p.getByLabel('Only records whose field').fill('color');
      await p.getByLabel('equals').fill('blue');
    }, 5, { n: 102, key: 'k-s', color: 'blue' });
    expect(byField).toEqual([2, 4, 5, 102]);

    const atTime = await tailUntil(async (p) => {
      await p.getByLabel('Only records whose field').fill('');
      await p.getByLabel('equals').fill('');
      await p.getByLabel('Start at').selectOption('AT_TIMESTAMP');
      await p.getByLabel('Time (UTC)').fill(new Date(from).toISOString().slice(0, 19));
    }, 102, { n: 103, key: 'k-s', color: 'none' });
    expect(atTime).toEqual([3, 4, 5, 101, 102, 103]);
    await shots('console-tail-time');

    const fourth = appended.find((r) => r.n === 4)!;
    const atSequence = await tailUntil(async (p) => {
      await p.getByLabel('Start at').selectOption('AT_SEQUENCE_NUMBER');
      await p.getByLabel('Shard').selectOption('shardId-000000000000');
      await p.getByLabel('Sequence number').fill(fourth.sequenceNumber!);
    }, 103, { n: 104, key: 'k-s', color: 'none' });
    expect(atSequence).toEqual([4, 5, 101, 102, 103, 104]);
    expect(errors).toEqual([]);
  }, 120_000);
});

describe('console station alerts', () => {
  it('acknowledges an alert: the button gives way to who acknowledged it, and the API says the same', async () => {
    // Three vehicles in each of four half-hour windows of a past afternoon, where P77 expects 100: the windows after the first are quiet.
    await quietStation(stack, 'P77', '2026-11-25T14:00:00.000Z', 4);
    const alert = await waitFor('an alert of P77', async () => ((await operator('GET', '/v1/operator/alerts')).body.alerts as Array<{ plaza_id: string; window_start: string }>).find((a) => a.plaza_id === 'P77'), { timeoutMs: 60_000 });

    await page.getByRole('link', { name: 'Station alerts' }).click();
    const label = `Acknowledge the alert of P77 at ${alert.window_start.slice(0, 16).replace('T', ' ')}`;
    const button = page.getByRole('button', { name: label });
    await button.waitFor();
    await shots('console-station-alerts');
    await button.click();
    const row = page.locator('tr', { hasText: alert.window_start.slice(0, 16).replace('T', ' ') }).filter({ hasText: 'P77' });
    await row.getByTestId('acknowledged').waitFor();
    expect(await row.getByTestId('acknowledged').textContent()).toMatch(/^acknowledged by operator, \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    expect(await page.getByRole('button', { name: label }).count()).toBe(0);
    const listed = ((await operator('GET', '/v1/operator/alerts')).body.alerts as Array<Record<string, unknown>>).find((a) => a.plaza_id === 'P77' && a.window_start === alert.window_start);
    expect(listed).toMatchObject({ acknowledged_by: 'operator', acknowledged_at: expect.any(String) });
    // After a reload the acknowledgement is still shown: it is kept by the server, not the page.
    await page.reload();
    await page.getByRole('link', { name: 'Station alerts' }).click();
    await page.locator('tr', { hasText: 'P77' }).getByTestId('acknowledged').first().waitFor();
    await shots('console-station-alerts-acknowledged');
    expect(errors).toEqual([]);
  }, 120_000);
});

describe('console per-shard view', () => {
  it('shows each shard of a stream with its share of the key space, its records as the API counts them, and each consumer\'s lag on it', async () => {
    expect((await operator('POST', '/v1/streams', { name: 'meters', shardCount: 2 })).status).toBe(201);
    const put = await operator('POST', '/v1/streams/meters/records?partitionKeyField=meter', Array.from({ length: 10 }, (_, i) => JSON.stringify({ meter: `m-${i}`, kwh: i })).join('\n'));
    expect(put.body.failedRecordCount).toBe(0);
    const perShard = new Map<string, number>();
    for (const r of put.body.records as Array<{ shardId: string }>) perShard.set(r.shardId, (perShard.get(r.shardId) ?? 0) + 1);

    await page.getByRole('link', { name: 'Streams' }).click();
    await page.locator('tr[data-stream="meters"]').getByRole('link', { name: 'meters' }).click();
    await page.getByRole('heading', { name: 'Shards of meters' }).waitFor();
    const table = page.getByRole('table', { name: '2 shards' });
    await table.waitFor();
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td, th')].map((c) => c.textContent)));
    expect(rows.map((r) => [r[0], r[1], r[3], r[6]])).toEqual([
      ['shardId-000000000000', 'open', '0% to 50% (50%)', String(perShard.get('shardId-000000000000') ?? 0)],
      ['shardId-000000000001', 'open', '50% to 100% (50%)', String(perShard.get('shardId-000000000001') ?? 0)],
    ]);
    await shots('console-shards');

    // A stream with consumers: each one's lag on each shard, as /metrics has it.
    await page.getByRole('link', { name: '← All streams' }).click();
    await page.locator('tr[data-stream="toll_transactions"]').getByRole('link', { name: 'toll_transactions' }).click();
    const consumers = page.getByRole('table', { name: 'Consumers of toll_transactions: records and seconds behind, per shard' });
    const warehouse = consumers.locator('tbody tr', { hasText: 'warehouse' });
    await warehouse.getByTestId('consumer-shard-lag').nth(1).waitFor({ timeout: 30_000 });
    for (const cell of await warehouse.getByTestId('consumer-shard-lag').all()) expect(await cell.textContent()).toMatch(/^[\d,]+ records, [\d.,]+ s$/);
    expect(await warehouse.getByTestId('consumer-shard-lag').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-shard')))).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    await shots('console-shards-consumers');
    expect(errors).toEqual([]);
  }, 120_000);
});
