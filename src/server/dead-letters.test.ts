/**
 * Operators browse the notifications given up after their last attempt and send one again: the routes list the
 * dead letters of every store, need the operator key, and a redrive reaches the receiver. The batches a
 * function gave up on are listed with them, and one sent again is processed once and leaves the list.
 */
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { FunctionsRuntime } from '../functions/index.ts';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { Registry } from '../metrics/index.ts';
import { openFixture, startWebhookReceiver, waitFor, type NotifyFixture, type WebhookReceiver } from '../notify/test-helpers.ts';
import { openTables, sqliteTableStore } from '../tables/index.ts';
import { waitFor as waitUntilListed } from '../../test/support/wait.ts';
import { registerConsumerMetrics } from './consumer-metrics.ts';
import { createDeadLetterRoutes } from './dead-letters.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';
import { openDuckDBWarehouse } from '../warehouse/index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempLog(): Promise<StreamLog> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-dead-letters-'));
  const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
  cleanups.push(async () => {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return log;
}

const operatorAuth = (header: string | undefined) => {
  if (header !== 'Bearer op') throw new TollstreamError('UNAUTHORIZED', 'the operator key is needed');
};

async function serve(handle: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('dead letter routes', () => {
  it('list the dead letters of every store and send one again to its receiver', async () => {
    // The receiver fails twice (both attempts of the first delivery), then accepts.
    const receiver: WebhookReceiver = await startWebhookReceiver('a-secret-of-sixteen', 2);
    cleanups.push(() => receiver.close());
    const fixture: NotifyFixture = openFixture({ retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5000 } });
    cleanups.push(() => fixture.close());
    fixture.notify.createTopic('station-alerts');
    fixture.notify.subscribe('station-alerts', { protocol: 'webhook', url: receiver.url, secret: 'a-secret-of-sixteen' });
    fixture.notify.start();
    fixture.notify.publish('station-alerts', { plaza_id: 'P02', cause: 'no_traffic' }, { idempotencyKey: 'station:P02:w1' });
    await waitFor('a dead letter', () => fixture.notify.listDeadLetters().length === 1);

    const consumers = registerConsumerMetrics(new Registry());
    consumers.addNotify('station-alerts', fixture.notify);
    const routes = createDeadLetterRoutes({ consumers, log: await tempLog(), operatorAuth, logger: silentLogger });
    const url = await serve((req, res) => void routes.handle(req, res));
    const auth = { authorization: 'Bearer op' };

    expect((await fetch(`${url}/v1/dead-letters`)).status).toBe(401);
    const listed = (await (await fetch(`${url}/v1/dead-letters`, { headers: auth })).json()) as { deadLetters: Array<Record<string, unknown>> };
    expect(listed.deadLetters).toHaveLength(1);
    const dead = listed.deadLetters[0]!;
    expect(dead).toMatchObject({ store: 'station-alerts', topic: 'station-alerts', channel: 'webhook', url: receiver.url, attempts: 2, lastError: 'HTTP 500', message: { plaza_id: 'P02', cause: 'no_traffic' } });

    expect((await fetch(`${url}/v1/dead-letters/nowhere/${dead.id}/redrive`, { method: 'POST', headers: auth })).status).toBe(404);
    expect((await fetch(`${url}/v1/dead-letters/station-alerts/999999/redrive`, { method: 'POST', headers: auth })).status).toBe(404);
    const redriven = await fetch(`${url}/v1/dead-letters/station-alerts/${dead.id}/redrive`, { method: 'POST', headers: auth });
    expect(redriven.status).toBe(200);
    expect(await redriven.json()).toEqual({ redriven: { store: 'station-alerts', id: dead.id } });
    await waitFor('the redriven delivery', () => receiver.received.some((r) => r.status === 204));
    expect(receiver.received.filter((r) => r.status === 204)).toHaveLength(1);
    expect(((await (await fetch(`${url}/v1/dead-letters`, { headers: auth })).json()) as { deadLetters: unknown[] }).deadLetters).toEqual([]);
    expect((await fetch(`${url}/v1/dead-letters?limit=0`, { headers: auth })).status).toBe(400);
  });

  it('list the batches a function gave up on and send one to its handler again, once', async () => {
    const log = await tempLog();
    await log.createStream('tolls', { shardCount: 1 });
    await log.createStream('tolls_failed', { shardCount: 1 });
    const tablesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-dead-letters-'));
    const tables = openTables({ path: path.join(tablesDir, 'tables.db') });
    cleanups.push(() => {
      tables.close();
      fs.rmSync(tablesDir, { recursive: true, force: true });
    });
    tables.createTable('seen', { ifNotExists: true });
    let broken = true;
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    cleanups.push(() => runtime.stop());
    await runtime.start({
      name: 'charge', stream: 'tolls', startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 0, retryBaseDelayMs: 1, onFailure: { stream: 'tolls_failed' },
      handler: async (event, ctx) => {
        if (broken) throw new Error('the payment service is down');
        await ctx.transact((tx) => {
          for (const r of event.records) tx.update('seen', { pk: r.text() }, { add: { times: 1 } });
        });
      },
    });
    const consumers = registerConsumerMetrics(new Registry());
    consumers.addFunctions(runtime);
    const routes = createDeadLetterRoutes({ consumers, log, operatorAuth, logger: silentLogger });
    const url = await serve((req, res) => void routes.handle(req, res));
    const auth = { authorization: 'Bearer op' };
    const list = async () => (await (await fetch(`${url}/v1/dead-letters`, { headers: auth })).json()) as { deadLetters: unknown[]; functionDeadLetters: Array<Record<string, unknown>> };

    await log.append('tolls', ['t-1', 't-2'].map((t) => ({ partitionKey: 'c-1', data: new TextEncoder().encode(t) })));
    await waitUntilListed('the batch given up', async () => (await list()).functionDeadLetters.length === 1);
    const [dead] = (await list()).functionDeadLetters;
    expect(dead).toMatchObject({ mapping: 'charge', stream: 'tolls', shardId: 'shardId-000000000000', batchSize: 2, attempts: 1, condition: 'the payment service is down', onFailure: 'tolls_failed' });
    const redrivePath = `${url}/v1/dead-letters/mappings/charge/${dead!.shardId}/${dead!.startSequenceNumber}-${dead!.endSequenceNumber}/redrive`;

    // Sent again while the handler still fails: refused with why, and still listed.
    const failed = await fetch(redrivePath, { method: 'POST', headers: auth });
    expect(failed.status).toBe(400);
    expect(JSON.stringify(await failed.json())).toContain('the payment service is down');
    expect((await list()).functionDeadLetters).toHaveLength(1);

    broken = false;
    const redriven = await fetch(redrivePath, { method: 'POST', headers: auth });
    expect(redriven.status).toBe(200);
    expect(await redriven.json()).toEqual({ redriven: { mapping: 'charge', shardId: dead!.shardId, startSequenceNumber: dead!.startSequenceNumber, endSequenceNumber: dead!.endSequenceNumber, records: 2 } });
    expect((await list()).functionDeadLetters).toEqual([]);
    expect((await fetch(redrivePath, { method: 'POST', headers: auth })).status).toBe(400);
    expect(['t-1', 't-2'].map((t) => tables.get('seen', { pk: t })?.value.times)).toEqual([1, 1]);
    expect((await fetch(`${url}/v1/dead-letters/mappings/charge/${dead!.shardId}/1-2/redrive`, { method: 'POST', headers: auth })).status).toBe(404);
  });
});

describe('failed delivery records as dead letters', () => {
  it('list the records the warehouse could not load and send them again, singly or as a selection, each loaded once', async () => {
    const warehouse = await openDuckDBWarehouse({ path: ':memory:', threads: 1 });
    cleanups.push(() => warehouse.close());
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    const toll = (id: string) => ({ transaction_id: id, customer_id: 'C1', tag_id: null, plate: 'AB1', plaza_id: 'P02', lane: 1, vehicle_class: 2, amount_cents: 250, currency: 'USD', event_time: '2026-11-26T10:00:00Z' });
    const failure = (seq: string, data: unknown) => ({
      shardId: 'shardId-000000000000', sequenceNumber: seq, errorType: 'processing-failed', errorCode: 'transform-processing-failed', errorMessage: 'plaza P02 is under audit',
      rawData: new TextEncoder().encode(JSON.stringify(data)), arrivalTime: Date.parse('2026-11-26T10:00:01Z'),
    }) as const;
    // What a delivery whose transform failed plaza P02 wrote: three records, one of which the table cannot hold.
    await warehouse.loadBatch({
      table: 'toll_transactions', rows: [],
      errors: [failure('101', toll('tx-1')), failure('102', toll('tx-2')), failure('103', { ...toll('tx-3'), vehicle_class: 9 })],
      source: { stream: 'toll_transactions', positions: { 'shardId-000000000000': '103' } },
    });
    const routes = createDeadLetterRoutes({ consumers: registerConsumerMetrics(new Registry()), log: await tempLog(), warehouse, operatorAuth, logger: silentLogger });
    const url = await serve((req, res) => void routes.handle(req, res));
    const auth = { authorization: 'Bearer op' };
    const list = async () => ((await (await fetch(`${url}/v1/dead-letters`, { headers: auth })).json()) as { deliveryErrors: Array<Record<string, string>> }).deliveryErrors;
    const loaded = async (id: string) => (await warehouse.query(`SELECT count(*) FROM toll_transactions WHERE transaction_id = '${id}'`)).rows[0]![0];
    const post = (p: string, body?: unknown) => fetch(`${url}${p}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

    const listed = await list();
    expect(listed.map((e) => e.sequenceNumber).sort()).toEqual(['101', '102', '103']);
    expect(listed.find((e) => e.sequenceNumber === '101')).toMatchObject({ stream: 'toll_transactions', table: 'toll_transactions', shardId: 'shardId-000000000000', errorType: 'processing-failed', errorCode: 'transform-processing-failed', data: JSON.stringify(toll('tx-1')) });

    const one = '/v1/dead-letters/deliveries/toll_transactions/toll_transactions/shardId-000000000000/101/redrive';
    expect((await fetch(`${url}${one}`, { method: 'POST' })).status).toBe(401);
    const redriven = await post(one);
    expect(redriven.status).toBe(200);
    expect(await redriven.json()).toEqual({ redriven: { stream: 'toll_transactions', table: 'toll_transactions', shardId: 'shardId-000000000000', sequenceNumber: '101', loaded: 1, dropped: 0 } });
    expect(await loaded('tx-1')).toBe(1);
    const twice = await post(one);
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: { code: string } }).error.code).toBe('CONDITION_FAILED');
    expect(await loaded('tx-1')).toBe(1);

    // A record the table still cannot hold fails again: refused with why, and still listed with the new error.
    const bad = await post('/v1/dead-letters/deliveries/toll_transactions/toll_transactions/shardId-000000000000/103/redrive');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'REDRIVE_FAILED', context: { errorCode: 'schema-mismatch' } } });
    expect((await list()).find((e) => e.sequenceNumber === '103')).toMatchObject({ errorType: 'format-conversion-failed', errorCode: 'schema-mismatch' });

    const key = (seq: string) => ({ stream: 'toll_transactions', table: 'toll_transactions', shardId: 'shardId-000000000000', sequenceNumber: seq });
    const selection = await post('/v1/dead-letters/deliveries/redrive', { records: [key('102'), key('101'), key('999')] });
    expect(selection.status).toBe(200);
    const { results } = (await selection.json()) as { results: Array<Record<string, unknown>> };
    expect(results).toEqual([
      { key: key('102'), loaded: 1, dropped: 0, failedAgain: [] },
      { key: key('101'), error: { code: 'CONDITION_FAILED', message: expect.stringContaining('was sent again before') } },
      { key: key('999'), error: { code: 'NOT_FOUND', message: expect.any(String) } },
    ]);
    expect(await loaded('tx-2')).toBe(1);
    expect((await list()).map((e) => e.sequenceNumber)).toEqual(['103']);
    expect((await post('/v1/dead-letters/deliveries/redrive', { records: [] })).status).toBe(400);
  });

  it('answer NOT_FOUND for a redrive on a server without a warehouse, and list none', async () => {
    const routes = createDeadLetterRoutes({ consumers: registerConsumerMetrics(new Registry()), log: await tempLog(), operatorAuth, logger: silentLogger });
    const url = await serve((req, res) => void routes.handle(req, res));
    const auth = { authorization: 'Bearer op' };
    expect(((await (await fetch(`${url}/v1/dead-letters`, { headers: auth })).json()) as { deliveryErrors: unknown[] }).deliveryErrors).toEqual([]);
    expect((await fetch(`${url}/v1/dead-letters/deliveries/s/t/shardId-000000000000/1/redrive`, { method: 'POST', headers: auth })).status).toBe(404);
  });
});
