/**
 * Alerts that reach a customer who is not looking at the page, through the whole server: the customer's browser
 * subscribes to Web Push with the server's VAPID key, email is on, tolls arrive with the AWS SDK, and the breach
 * reaches the local push service (signed, encrypted for that browser) and the local SMTP server (at the
 * customer's address). The trip history of the same tolls comes from the warehouse with its total.
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
import { startPushService } from '../support/push-service.ts';
import { startSmtpServer } from '../support/smtp-server.ts';
import { api, recentTolls } from './support.ts';
import { waitFor } from '../support/wait.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(dataDir: string, overrides: ShippedConfigOverrides = {}): Promise<RunningServer> {
  const config: TollstreamConfig = { ...DEFAULT_CONFIG, dataDir, port: 0, logging: { level: 'silent', format: 'json' }, ...overrides };
  const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

describe('alerts by Web Push and email in the running server', () => {
  it('pushes and mails the breach to the customer, and lists the tolls with their total', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-push-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const push = await startPushService();
    cleanups.push(() => push.close());
    const smtp = await startSmtpServer();
    cleanups.push(() => smtp.close());
    const server = await start(dataDir, {
      ...spendAlertsConfig({ pushSubject: 'mailto:ops@tolls.example', pushServices: [push.origin], email: { enabled: true, smtpHost: smtp.host, smtpPort: smtp.port, from: 'ABC Tolls <alerts@tolls.example>' } }),
    });

    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C0000042', name: 'Ada', email: 'ada@example.com' })).status).toBe(201);
    const token = (await api(server.url, 'POST', '/v1/customers/C0000042/tokens')).json.token as string;
    expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 2500 }, token)).status).toBe(200);

    const key = await api(server.url, 'GET', '/v1/me/push', undefined, token);
    expect(key.status).toBe(200);
    const browser = push.subscribe();
    // Only the configured push services: a customer cannot make the server POST anywhere else.
    for (const endpoint of ['https://169.254.169.254/latest/meta-data', `http://127.0.0.1:${new URL(server.url).port}/v1/me`, 'https://fcm.googleapis.com/fcm/send/x']) {
      const refused = await api(server.url, 'POST', '/v1/me/push/subscriptions', { endpoint, keys: browser.keys }, token);
      expect(refused.status).toBe(400);
      expect(refused.json.error.context.field).toBe('endpoint');
    }
    const subscribed = await api(server.url, 'POST', '/v1/me/push/subscriptions', { ...browser, expirationTime: null }, token);
    expect(subscribed.status).toBe(201);
    // The VAPID key survives a restart: it is in the data dir.
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'vapid.json'), 'utf8'))).toHaveProperty('d');

    const now = Date.now();
    const tolls = recentTolls('T-push', 'C0000042', [1200, 900, 1000], now);
    const kinesis = new KinesisClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    cleanups.push(() => kinesis.destroy());
    const out = await kinesis.send(
      new PutRecordsCommand({ StreamName: 'toll_transactions', Records: tolls.map((t) => ({ PartitionKey: t.customer_id, Data: new TextEncoder().encode(JSON.stringify(t)) })) }),
    );
    expect(out.FailedRecordCount).toBe(0);

    const pushed = await waitFor('the push', () => push.received[0]);
    expect(pushed.problem).toBeUndefined();
    expect(pushed.vapidKey).toBe(key.json.application_server_key);
    expect(pushed.claims?.sub).toBe('mailto:ops@tolls.example');
    const payload = JSON.parse(pushed.payload!);
    expect(payload.data).toMatchObject({ type: 'threshold_breach', customer_id: 'C0000042', threshold_cents: 2500, total_cents: 3100 });
    expect(payload.title).toMatch(/passed \$25\.00/);
    expect(payload.text).toMatch(/You have spent \$31\.00 so far/);

    const mail = await waitFor('the email', () => smtp.received[0]);
    expect(mail.to).toEqual(['ada@example.com']);
    expect(mail.headers.subject).toBe(payload.title);
    expect(mail.text).toContain('You have spent $31.00 so far');

    // Trip history: the warehouse loads the tolls within its buffer interval (1 s by default).
    const month = new Date(now).toISOString().slice(0, 7);
    const trips = await waitFor('the tolls in the warehouse', async () => {
      const res = await api(server.url, 'GET', `/v1/me/trips?month=${month}&limit=2`, undefined, token);
      return res.status === 200 && res.json.transactions === 3 ? res.json : undefined;
    });
    expect(trips.total_cents).toBe(3100);
    expect(trips.trips.map((t: any) => t.transaction_id)).toEqual(['T-push-2', 'T-push-1']);
    const rest = await api(server.url, 'GET', `/v1/me/trips?month=${month}&limit=2&cursor=${trips.cursor}`, undefined, token);
    expect(rest.json.trips.map((t: any) => t.transaction_id)).toEqual(['T-push-0']);
    expect([...trips.trips, ...rest.json.trips].reduce((sum: number, t: any) => sum + t.amount_cents, 0)).toBe(trips.total_cents);

    // Unsubscribing stops the pushes to that browser.
    expect((await api(server.url, 'DELETE', '/v1/me/push/subscriptions', { endpoint: browser.endpoint }, token)).status).toBe(204);
    expect((await api(server.url, 'DELETE', '/v1/me/push/subscriptions', { endpoint: browser.endpoint }, token)).status).toBe(404);
  });
});
