/**
 * The console sends a record the warehouse could not load into its table again, in headless Chromium against a
 * real server: a toll that a delivery transform (since fixed) failed is in `_delivery_errors`, the console lists
 * it, a declined confirmation loads nothing, a confirmed one loads it once and it leaves the list; a selection is
 * sent the same way, each record once, one that fails again kept with its new error. The continuous
 * queries' error streams are listed beside, each opening the live tail. Screenshots go to test-artifacts/web/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerConfirmation, operatorCall, screenshots, signedInConsole, startBrowserStack, toll, type BrowserStack, type WebStack } from './harness.ts';

let stack: WebStack;
let started: BrowserStack | undefined;
let page: Page;
let errors: string[] = [];

beforeAll(async () => {
  started = await startBrowserStack();
  stack = started.stack;
  ({ page, errors } = await signedInConsole(started));
}, 180_000);

afterAll(async () => {
  await started?.close();
});

const operator = (method: string, p: string, body?: unknown) => operatorCall(stack, method, p, body);
const shots = (name: string) => screenshots(page, name);

interface DeliveryError {
  readonly stream: string;
  readonly table: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly errorCode: string;
}

describe('console failed delivery records', () => {
  it('loads a record the warehouse could not load once after a confirmation, and it leaves the list', async () => {
    const warehouse = stack.server.warehouse!;
    const tx = toll('C-REDRIVE', 475);
    const id = String(tx.transaction_id);
    // What a delivery whose transform failed this toll wrote, in its batch's transaction; the server's delivery runs
    // no transform, so sending it again converts the record as it stands, as after the transform's fix.
    await warehouse.loadBatch({
      table: 'toll_transactions',
      rows: [],
      errors: [{ shardId: 'shardId-000000000000', sequenceNumber: '49000000000000000000000000001', errorType: 'processing-failed', errorCode: 'transform-processing-failed', errorMessage: 'customer C-REDRIVE is under audit', rawData: new TextEncoder().encode(JSON.stringify(tx)), arrivalTime: Date.now() }],
      source: { stream: 'toll_transactions', positions: {} },
    });
    const loaded = async () => Number((await warehouse.query(`SELECT count(*) FROM toll_transactions WHERE transaction_id = '${id}'`)).rows[0]![0]);
    const listed = async () => (await operator('GET', '/v1/dead-letters')).body.deliveryErrors as DeliveryError[];
    expect((await listed()).map((e) => [e.table, e.sequenceNumber, e.errorCode])).toEqual([['toll_transactions', '49000000000000000000000000001', 'transform-processing-failed']]);

    await page.getByRole('link', { name: 'Functions & delivery' }).click();
    const records = page.getByRole('table', { name: '1 record not loaded' });
    const row = records.locator('tbody tr', { hasText: 'customer C-REDRIVE is under audit' });
    await row.waitFor();
    expect(await row.textContent()).toContain('processing-failed (transform-processing-failed)');
    await shots('console-delivery-dead-letters');
    const send = row.getByRole('button', { name: 'Send record 49000000000000000000000000001 of shardId-000000000000 to toll_transactions again' });

    // Declined: nothing is loaded, the record stays.
    const asked = await answerConfirmation(page, 'dismiss', () => send.click());
    expect(asked).toBe(
      'Load this record of toll_transactions (shardId-000000000000, sequence number 49000000000000000000000000001) into toll_transactions again? It goes through the delivery\'s conversion once more and is loaded once; if it fails again it stays listed with the new error.',
    );
    await page.waitForTimeout(1000);
    expect(await loaded()).toBe(0);
    expect(await listed()).toHaveLength(1);
    expect(await send.isEnabled()).toBe(true);

    // Confirmed: loaded once, and the record leaves the list.
    await answerConfirmation(page, 'accept', () => send.click());
    await page.getByRole('status').filter({ hasText: 'Record 49000000000000000000000000001 of shardId-000000000000: 1 row loaded into toll_transactions.' }).waitFor();
    await page.getByText('None: every record delivered was loaded into its table.').waitFor();
    await shots('console-delivery-dead-letters-redriven');
    expect(await loaded()).toBe(1);
    expect(await listed()).toEqual([]);
    // Sent again through the API as well: refused, still loaded once.
    const again = await operator('POST', '/v1/dead-letters/deliveries/toll_transactions/toll_transactions/shardId-000000000000/49000000000000000000000000001/redrive');
    expect([again.status, again.body.error.code]).toEqual([400, 'CONDITION_FAILED']);
    expect(await loaded()).toBe(1);
    expect(errors).toEqual([]);
  }, 120_000);

  it('sends a selection of records again after a confirmation: the fixed one loaded once, the one that fails again kept with its new error', async () => {
    const warehouse = stack.server.warehouse!;
    const [fixed, untouched] = [toll('C-REDRIVE', 120), toll('C-REDRIVE', 130)];
    // Vehicle class 9 is no class the table holds: this one fails again, as format-conversion-failed.
    const broken: Record<string, unknown> = { ...toll('C-REDRIVE', 140), vehicle_class: 9 };
    const failure = (seq: string, data: unknown) => ({
      shardId: 'shardId-000000000001', sequenceNumber: seq, errorType: 'processing-failed', errorCode: 'transform-processing-failed', errorMessage: 'customer C-REDRIVE is under audit',
      rawData: new TextEncoder().encode(JSON.stringify(data)), arrivalTime: Date.now(),
    }) as const;
    await warehouse.loadBatch({ table: 'toll_transactions', rows: [], errors: [failure('49000000000000000000000000011', fixed), failure('49000000000000000000000000012', untouched), failure('49000000000000000000000000013', broken)], source: { stream: 'toll_transactions', positions: {} } });
    const loaded = async (id: unknown) => Number((await warehouse.query(`SELECT count(*) FROM toll_transactions WHERE transaction_id = '${String(id)}'`)).rows[0]![0]);

    await page.getByRole('link', { name: 'Functions & delivery' }).click();
    const records = page.getByRole('table', { name: '3 records not loaded' });
    await records.waitFor();
    await records.getByRole('checkbox', { name: 'Select record 49000000000000000000000000011 of shardId-000000000001' }).check();
    await records.getByRole('checkbox', { name: 'Select record 49000000000000000000000000013 of shardId-000000000001' }).check();
    const sendSelected = page.getByRole('button', { name: 'Send the 2 selected again' });

    const asked = await answerConfirmation(page, 'dismiss', () => sendSelected.click());
    expect(asked).toBe("Load the 2 selected records into their tables again? Each goes through the delivery's conversion once more and is loaded once; one that fails again stays listed with the new error.");
    await page.waitForTimeout(1000);
    expect(await loaded(fixed.transaction_id)).toBe(0);

    await answerConfirmation(page, 'accept', () => sendSelected.click());
    await page.getByRole('status').filter({ hasText: '1 row loaded from 2 records; 1 failed again and stays listed.' }).waitFor();
    await page.getByRole('table', { name: '2 records not loaded' }).waitFor();
    await shots('console-delivery-dead-letters-selection');
    expect([await loaded(fixed.transaction_id), await loaded(untouched.transaction_id), await loaded(broken.transaction_id)]).toEqual([1, 0, 0]);
    const listed = ((await operator('GET', '/v1/dead-letters')).body.deliveryErrors as DeliveryError[]).map((e) => [e.sequenceNumber, e.errorCode]).sort();
    expect(listed).toEqual([['49000000000000000000000000012', 'transform-processing-failed'], ['49000000000000000000000000013', 'schema-mismatch']]);
    expect(errors).toEqual([]);
  }, 120_000);

  it('lists each continuous query\'s error stream and opens it in the live tail', async () => {
    const queries = (await operator('GET', '/v1/queries')).body.queries as Array<{ name: string; errorStream: string }>;
    expect(queries.length).toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Functions & delivery' }).click();
    const streams = page.getByRole('table', { name: `${queries.length} error stream${queries.length === 1 ? '' : 's'}` });
    await streams.waitFor();
    const first = queries[0]!;
    await streams.getByRole('link', { name: `Read the error stream of ${first.name}` }).click();
    await page.getByRole('status').filter({ hasText: `Tailing ${first.errorStream}` }).waitFor();
    expect(await page.locator('#tail-stream').inputValue()).toBe(first.errorStream);
    expect(await page.locator('#tail-from').inputValue()).toBe('TRIM_HORIZON');
    expect(errors).toEqual([]);
  }, 60_000);
});
