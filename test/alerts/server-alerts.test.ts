/**
 * The spending alerts through the whole server, as ABC Tolls runs them: an operator creates a customer and a
 * token, the customer sets a threshold, a roadside producer sends tolls with the AWS SDK's Kinesis client, and
 * the breach arrives on the customer's open notification stream, once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS, type ShippedConfigOverrides } from '../../src/apps/index.ts';
import { SseReader } from '../support/sse.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(dataDir: string, overrides: ShippedConfigOverrides = {}): Promise<RunningServer> {
  const config: TollstreamConfig = { ...DEFAULT_CONFIG, dataDir, port: 0, logging: { level: 'silent', format: 'json' }, warehouse: { enabled: false }, ...overrides };
  const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

async function api(url: string, method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url + route, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

function toll(customer: string, id: string, cents: number, eventTime = new Date().toISOString()) {
  return {
    transaction_id: id,
    customer_id: customer,
    tag_id: `TAG-${customer}`,
    plate: 'ABC-1234',
    plaza_id: 'P01',
    lane: 2,
    vehicle_class: 2,
    amount_cents: cents,
    currency: 'USD',
    event_time: eventTime,
  };
}

async function putTolls(url: string, tolls: ReturnType<typeof toll>[]): Promise<void> {
  const kinesis = new KinesisClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: 'toll_transactions',
        Records: tolls.map((t) => ({ PartitionKey: t.customer_id, Data: new TextEncoder().encode(JSON.stringify(t)) })),
      }),
    );
    expect(out.FailedRecordCount).toBe(0);
  } finally {
    kinesis.destroy();
  }
}

describe('spending alerts in the running server', () => {
  it('notifies a customer once, live, when the month passes the threshold, across a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-alerts-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const server = await start(dataDir);

    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C0000042', name: 'Ada', email: 'ada@example.com' })).status).toBe(201);
    const issued = await api(server.url, 'POST', '/v1/customers/C0000042/tokens');
    expect(issued.status).toBe(201);
    const token = issued.json.token as string;
    expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 1000 }, token)).json).toMatchObject({ threshold_cents: 1000, breached: false });

    const stream = await fetch(`${server.url}/v1/me/notifications/stream`, { headers: { authorization: `Bearer ${token}` } });
    expect(stream.status).toBe(200);
    const events = new SseReader(stream.body!);
    cleanups.push(() => events.cancel());

    // 400 + 400 stays under the threshold; the third toll crosses it; a retried send of it counts once.
    await putTolls(server.url, [toll('C0000042', 'tx-1', 400), toll('C0000042', 'tx-2', 400)]);
    await putTolls(server.url, [toll('C0000042', 'tx-3', 450), toll('C0000042', 'tx-3', 450)]);
    const event = await events.next();
    expect(event?.event).toBe('notification');
    const notification = JSON.parse(event!.data);
    expect(notification.message).toMatchObject({ type: 'threshold_breach', customer_id: 'C0000042', threshold_cents: 1000, total_cents: 1250 });

    const spend = await api(server.url, 'GET', '/v1/me/spend', undefined, token);
    expect(spend.json).toMatchObject({ total_cents: 1250, threshold_cents: 1000 });

    // More spend in the same month does not notify again, not even after a restart.
    await putTolls(server.url, [toll('C0000042', 'tx-4', 300)]);
    await events.cancel();
    await server.close();
    cleanups.pop();
    const again = await start(dataDir);
    await putTolls(again.url, [toll('C0000042', 'tx-5', 300)]);
    const deadline = Date.now() + 10_000;
    while ((await api(again.url, 'GET', '/v1/me/spend', undefined, token)).json.total_cents !== 1850) {
      if (Date.now() > deadline) throw new Error('the totals did not reach 1850 cents');
      await new Promise((r) => setTimeout(r, 50));
    }
    const inbox = await api(again.url, 'GET', '/v1/me/notifications', undefined, token);
    expect(inbox.json.notifications).toHaveLength(1);

    const metrics = await (await fetch(`${again.url}/metrics`)).text();
    expect(metrics).toMatch(/tollstream_function_records_total\{mapping="[^"]+"\} [1-9]/);
  });

  it('runs the pipeline through streaming SQL: a late toll counts in the month of its event time, an invalid one goes to the error stream', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-alerts-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const server = await start(dataDir);
    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C0000007', email: 'c7@example.com' })).status).toBe(201);
    const token = (await api(server.url, 'POST', '/v1/customers/C0000007/tokens')).json.token as string;
    expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 1000 }, token)).status).toBe(200);

    // Mid last month (UTC, the default zone), arriving now.
    const now = new Date();
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15, 12));
    const lastMonthKey = lastMonth.toISOString().slice(0, 7);
    await putTolls(server.url, [
      toll('C0000007', 'late-1', 1500, lastMonth.toISOString()),
      toll('C0000007', 'now-1', 200),
      { ...toll('C0000007', 'bad-1', 300), amount_cents: 2.5 },
    ]);

    // The late toll crosses the threshold in its own month, so the breach names last month with its total.
    const deadline = Date.now() + 15_000;
    let inbox = (await api(server.url, 'GET', '/v1/me/notifications', undefined, token)).json.notifications as any[];
    while (inbox.length === 0) {
      if (Date.now() > deadline) throw new Error('no breach notification for the late toll');
      await new Promise((r) => setTimeout(r, 50));
      inbox = (await api(server.url, 'GET', '/v1/me/notifications', undefined, token)).json.notifications;
    }
    expect(inbox.map((n) => n.message)).toEqual([
      expect.objectContaining({ type: 'threshold_breach', customer_id: 'C0000007', month: lastMonthKey, threshold_cents: 1000, total_cents: 1500, cause: 'window' }),
    ]);
    // This month holds only this month's toll, on today.
    let spend = (await api(server.url, 'GET', '/v1/me/spend', undefined, token)).json;
    while (spend.total_cents !== 200) {
      if (Date.now() > deadline) throw new Error(`this month's total is ${spend.total_cents}, not 200`);
      await new Promise((r) => setTimeout(r, 50));
      spend = (await api(server.url, 'GET', '/v1/me/spend', undefined, token)).json;
    }
    expect(spend.days).toEqual([{ date: now.toISOString().slice(0, 10), total_cents: 200, transactions: 1 }]);

    // The record that does not fit the schema is in the error stream with its reason, and counted.
    const errors = (await server.log.read('toll_transactions_errors', 'shardId-000000000000', { type: 'TRIM_HORIZON' })).records;
    expect(errors.map((r) => JSON.parse(new TextDecoder().decode(r.data)).reason)).toEqual([expect.stringMatching(/^amount_cents must be a whole number of cents/)]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^tollstream_alerts_invalid_records_total 1$/m);
    expect(metrics).toMatch(/^tollstream_query_running\{query="abc-tolls-customer-spend"\} 1$/m);
  });

  it("keeps the direct path with alerts.source 'transactions', and refuses to switch a data directory's source", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-alerts-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const direct = { ...spendAlertsConfig({ source: 'transactions' as const }) };
    const server = await start(dataDir, direct);
    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C1', email: 'c1@example.com' })).status).toBe(201);
    const token = (await api(server.url, 'POST', '/v1/customers/C1/tokens')).json.token as string;
    expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 100 }, token)).status).toBe(200);
    await putTolls(server.url, [toll('C1', 'd-1', 250)]);
    const deadline = Date.now() + 10_000;
    let inbox = (await api(server.url, 'GET', '/v1/me/notifications', undefined, token)).json.notifications as any[];
    while (inbox.length === 0) {
      if (Date.now() > deadline) throw new Error('no breach notification on the direct path');
      await new Promise((r) => setTimeout(r, 50));
      inbox = (await api(server.url, 'GET', '/v1/me/notifications', undefined, token)).json.notifications;
    }
    expect(inbox[0].message).toMatchObject({ cause: 'transaction', transaction_id: 'd-1', total_cents: 250 });
    await server.close();
    cleanups.pop();

    // The SQL path would start from the beginning of toll_transactions and count d-1 again.
    await expect(start(dataDir)).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { key: 'source' } });
    // And the SQL path needs the query manager.
    await expect(start(dataDir, { queries: { ...DEFAULT_CONFIG.queries, enabled: false } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { key: 'alerts.source' } });
  });

  it('keeps the customer API closed to customer tokens on operator routes when API keys are set', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-alerts-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const { hashApiKey } = await import('../../src/gateway/auth/index.ts');
    const server = await start(dataDir, { auth: { accessKeys: [], apiKeys: [hashApiKey('operator-key')] } });
    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C1', email: 'c1@example.com' })).status).toBe(401);
    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C1', email: 'c1@example.com' }, 'operator-key')).status).toBe(201);
    const token = (await api(server.url, 'POST', '/v1/customers/C1/tokens', undefined, 'operator-key')).json.token as string;
    expect((await api(server.url, 'GET', '/v1/me', undefined, token)).status).toBe(200);
    expect((await api(server.url, 'GET', '/v1/customers/C1', undefined, token)).status).toBe(401);
    expect((await api(server.url, 'GET', '/v1/streams', undefined, token)).status).toBe(401);
  });
});
