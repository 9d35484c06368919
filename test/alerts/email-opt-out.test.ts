/**
 * A customer stops alert emails and starts them again, through the whole server and a local SMTP server: the
 * alert email carries a signed unsubscribe link (`List-Unsubscribe`, one-click per RFC 8058) that works without
 * signing in, an altered link is refused, a stopped customer's next alert reaches the inbox and no mailbox, and
 * `PUT /v1/me/email-alerts` turns the emails back on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { startSmtpServer } from '../support/smtp-server.ts';
import { api, inboxOf, metricValue } from './support.ts';
import { waitFor } from '../support/wait.ts';
import { SPEND_ALERTS_DEFAULTS, spendAlertsConfig, type EmailSettings } from '../../src/apps/abc-tolls/index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A server without a warehouse, with alert emails through `email` when given, and none without it. */
async function startAlertsServer(email?: EmailSettings): Promise<RunningServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-optout-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config: TollstreamConfig = {
    ...DEFAULT_CONFIG,
    dataDir,
    port: 0,
    logging: { level: 'silent', format: 'json' },
    warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
    ...(email ? spendAlertsConfig({ email }) : {}),
  };
  const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

describe('opting out of alert emails', () => {
  it('stops with the link in the email, not with an altered one, and starts again from the app', async () => {
    const smtp = await startSmtpServer();
    cleanups.push(() => smtp.close());
    const server = await startAlertsServer({ enabled: true, smtpHost: smtp.host, smtpPort: smtp.port, from: 'ABC Tolls <alerts@tolls.example>' });

    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C0000042', name: 'Ada', email: 'ada@example.com' })).status).toBe(201);
    const token = (await api(server.url, 'POST', '/v1/customers/C0000042/tokens')).json.token as string;
    expect((await api(server.url, 'GET', '/v1/me', undefined, token)).json).toMatchObject({ email_alerts: true, email_alerts_available: true });
    expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 2500 }, token)).status).toBe(200);
    const toll = { transaction_id: 'T-optout-1', customer_id: 'C0000042', tag_id: 'TAG-42', plate: 'ABC-1234', plaza_id: 'P01', lane: 1, vehicle_class: 2, amount_cents: 3100, currency: 'USD', event_time: new Date().toISOString() };
    const put = await fetch(`${server.url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, { method: 'POST', body: `${JSON.stringify(toll)}\n` });
    expect(put.status).toBe(200);

    // The first alert is mailed with its unsubscribe link, as a header and at the end of the text.
    const first = await waitFor('the first email', () => smtp.received[0]);
    expect(first.to).toEqual(['ada@example.com']);
    expect(first.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    const link = /^<(http:\/\/[^>]+)>$/.exec(first.headers['list-unsubscribe'] ?? '')?.[1];
    expect(link).toBeDefined();
    const url = new URL(link!);
    expect(url.origin + url.pathname).toBe(`${server.url}/v1/email/unsubscribe`);
    expect(url.searchParams.get('customer')).toBe('C0000042');
    expect(first.text).toContain(`To stop these emails: ${link}`);

    // Opening the link changes nothing (mail scanners open links): it shows the button that stops them.
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<form method="post">');
    expect((await api(server.url, 'GET', '/v1/me', undefined, token)).json.email_alerts).toBe(true);

    // An altered link (another customer, or a changed signature) is refused and changes nothing.
    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C0000043', name: 'Bob', email: 'bob@example.com' })).status).toBe(201);
    const otherCustomer = new URL(link!);
    otherCustomer.searchParams.set('customer', 'C0000043');
    const forged = await fetch(otherCustomer, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    const badSignature = new URL(link!);
    badSignature.searchParams.set('sig', `${url.searchParams.get('sig')!.slice(0, -2)}AA`);
    expect((await fetch(badSignature, { method: 'POST' })).status).toBe(403);
    expect((await api(server.url, 'GET', '/v1/customers/C0000043')).json.email_alerts).toBe(true);

    // A mail client's one-click unsubscribe: a POST to the link with List-Unsubscribe=One-Click.
    const stopped = await fetch(link!, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(stopped.status).toBe(200);
    expect(await stopped.text()).toContain('will get no more alert emails');
    expect((await api(server.url, 'GET', '/v1/me', undefined, token)).json.email_alerts).toBe(false);

    // A lower threshold breaches at once: the alert reaches the inbox, and no email is made for it.
    expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 3000 }, token)).json.breached).toBe(true);
    await waitFor('the second alert in the inbox', async () => ((await inboxOf(server.url, token)).length === 2 ? true : undefined));
    // The inbox entry and any email delivery are made in one transaction: none is waiting, none was sent.
    expect(await metricValue(server.url, 'tollstream_notify_deliveries_pending')).toBe(0);
    expect(await metricValue(server.url, 'tollstream_notify_dead_letters')).toBe(0);
    expect(smtp.received).toHaveLength(1);

    // Back on from the app: the next alert is mailed again.
    const on = await api(server.url, 'PUT', '/v1/me/email-alerts', { enabled: true }, token);
    expect(on.status).toBe(200);
    expect(on.json.email_alerts).toBe(true);
    expect((await api(server.url, 'PUT', '/v1/me/email-alerts', { enabled: 'no' }, token)).status).toBe(400);
    expect((await api(server.url, 'PUT', '/v1/me/threshold', { threshold_cents: 2000 }, token)).json.breached).toBe(true);
    const third = await waitFor('the email of the third alert', () => smtp.received[1]);
    expect(third.to).toEqual(['ada@example.com']);
    expect(third.text).toContain('$20.00');
    expect(smtp.received).toHaveLength(2);
  });

  it('is not offered by a server that sends no alert emails: /v1/me says so, whatever the customer chose', async () => {
    expect(SPEND_ALERTS_DEFAULTS.email?.enabled).toBe(false);
    const server = await startAlertsServer();

    expect((await api(server.url, 'POST', '/v1/customers', { customer_id: 'C0000044', name: 'Cy', email: 'cy@example.com' })).status).toBe(201);
    const token = (await api(server.url, 'POST', '/v1/customers/C0000044/tokens')).json.token as string;
    expect((await api(server.url, 'GET', '/v1/me', undefined, token)).json).toMatchObject({ email_alerts: true, email_alerts_available: false });
    const on = await api(server.url, 'PUT', '/v1/me/email-alerts', { enabled: true }, token);
    expect(on.json).toMatchObject({ email_alerts: true, email_alerts_available: false });
  });
});
