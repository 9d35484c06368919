/**
 * Web Push and email deliveries: against a local push service that checks the VAPID signature and decrypts the
 * payload with the browser subscription's private key, and a local SMTP server. Retries, dead letters and
 * redrives work as for webhooks.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPushService, type PushService } from '../../test/support/push-service.ts';
import { startSmtpServer, type SmtpTestServer } from '../../test/support/smtp-server.ts';
import { openFixture, waitFor, type NotifyFixture } from './test-helpers.ts';
import type { NotifyOptions } from './types.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { loadOrCreateVapidKeys } from './webpush.ts';
import { openNotify } from './notify.ts';
import { openTables } from '../tables/index.ts';
import { tablesInternals } from '../tables/internal.ts';

const TOPIC = 'spend-alerts';
const render: NotifyOptions['render'] = (topic, message) => ({
  title: `Spending alert for ${String(message.customer_id)}`,
  text: `Your spending this month is ${String(message.total_cents)} cents (${topic}).`,
});

let fixture: NotifyFixture | undefined;
let push: PushService | undefined;
let smtp: SmtpTestServer | undefined;
let keyDir: string | undefined;

afterEach(async () => {
  await fixture?.close();
  await push?.close();
  await smtp?.close();
  if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
  fixture = push = smtp = keyDir = undefined;
});

async function withPush(maxAttempts = 5, logger?: Logger): Promise<{ f: NotifyFixture; service: PushService; publicKey: string }> {
  push = await startPushService();
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-vapid-'));
  const keys = loadOrCreateVapidKeys(path.join(keyDir, 'vapid.json'));
  fixture = openFixture({ webPush: { keys, subject: 'mailto:ops@example.com' }, render, retry: { maxAttempts, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5000 }, ...(logger ? { logger } : {}) });
  fixture.notify.createTopic(TOPIC, { kind: 'inbox', customerField: 'customer_id' });
  return { f: fixture, service: push, publicKey: keys.publicKey };
}

function subscribePush(f: NotifyFixture, service: PushService, customerId: string) {
  const browser = service.subscribe();
  const subscription = f.notify.subscribe(TOPIC, { protocol: 'webpush', customerId, endpoint: browser.endpoint, ...browser.keys });
  return { browser, subscription };
}

describe('Web Push delivery', () => {
  it("pushes a customer's message, signed and encrypted, to that customer's browsers only", async () => {
    const { f, service, publicKey } = await withPush();
    const mine = subscribePush(f, service, 'C1');
    const other = subscribePush(f, service, 'C2');
    f.notify.start();
    f.notify.publish(TOPIC, { customer_id: 'C1', total_cents: 3000 }, { idempotencyKey: 'breach:C1:2026-11:2500' });
    await waitFor('the push', () => service.received.length === 1);
    await f.notify.stop();

    const [got] = service.received;
    expect(got!.problem).toBeUndefined();
    expect(got!.status).toBe(201);
    expect(got!.subscription).toBe(mine.browser.endpoint.split('/').pop());
    expect(got!.vapidKey).toBe(publicKey);
    expect(f.notify.webPushPublicKey()).toBe(publicKey);
    expect(got!.claims).toMatchObject({ aud: service.origin, sub: 'mailto:ops@example.com' });
    expect(JSON.parse(got!.payload!)).toMatchObject({
      type: TOPIC,
      id: 'breach:C1:2026-11:2500',
      title: 'Spending alert for C1',
      text: 'Your spending this month is 3000 cents (spend-alerts).',
      data: { customer_id: 'C1', total_cents: 3000 },
    });
    expect(service.received.some((r) => r.subscription === other.browser.endpoint.split('/').pop())).toBe(false);
  });

  it('on one node, refuses Web Push without the key pair to sign with', () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-vapid-'));
    const tables = openTables({ path: path.join(keyDir, 'tables.db') });
    try {
      expect(() => openNotify({ tables, webPush: { subject: 'mailto:ops@example.com' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    } finally {
      tables.close();
    }
  });

  it('retries a push the service refused, and dead-letters it after the last attempt; a redrive sends it', async () => {
    const { f, service } = await withPush(3);
    subscribePush(f, service, 'C1');
    service.failNext(3, 503);
    f.notify.start();
    f.notify.publish(TOPIC, { customer_id: 'C1', total_cents: 10 }, { idempotencyKey: 'k-1' });
    await waitFor('a dead letter', () => f.notify.listDeadLetters().length === 1);
    const [dead] = f.notify.listDeadLetters();
    expect(dead).toMatchObject({ channel: 'webpush', attempts: 3, lastError: 'HTTP 503', idempotencyKey: 'k-1' });
    expect(service.received.map((r) => r.status)).toEqual([503, 503, 503]);

    f.notify.redriveDeadLetter(dead!.id);
    await waitFor('the redriven push', () => service.received.length === 4);
    await f.notify.stop();
    expect(service.received[3]).toMatchObject({ status: 201, problem: undefined });
    expect(JSON.parse(service.received[3]!.payload!).data).toEqual({ customer_id: 'C1', total_cents: 10 });
    expect(f.notify.listDeadLetters()).toEqual([]);
  });

  it('drops a subscription its push service no longer knows (410) without retrying', async () => {
    const { f, service } = await withPush(5);
    const { subscription } = subscribePush(f, service, 'C1');
    service.failNext(1, 410);
    f.notify.start();
    f.notify.publish(TOPIC, { customer_id: 'C1', total_cents: 10 }, { idempotencyKey: 'k-gone' });
    await waitFor('a dead letter', () => f.notify.listDeadLetters().length === 1);
    await f.notify.stop();
    expect(f.notify.listDeadLetters()[0]).toMatchObject({ channel: 'webpush', attempts: 1 });
    expect(service.received).toHaveLength(1);
    expect(f.notify.listSubscriptions(TOPIC).map((s) => s.id)).not.toContain(subscription.id);
  });

  it('a browser subscribing again with the same endpoint replaces its subscription', async () => {
    const { f, service } = await withPush();
    const browser = service.subscribe();
    f.notify.subscribe(TOPIC, { protocol: 'webpush', customerId: 'C1', endpoint: browser.endpoint, ...browser.keys });
    f.notify.subscribe(TOPIC, { protocol: 'webpush', customerId: 'C1', endpoint: browser.endpoint, ...browser.keys });
    expect(f.notify.listSubscriptions(TOPIC).filter((s) => s.protocol === 'webpush')).toHaveLength(1);
    expect(() => f.notify.subscribe(TOPIC, { protocol: 'webpush', customerId: 'C1', endpoint: browser.endpoint, p256dh: 'AAAA', auth: browser.keys.auth })).toThrow(/p256dh/);
  });
});

async function withEmail(
  maxAttempts = 5,
  port?: number,
  options: { addressOf?: (id: string) => Promise<string | undefined> | string | undefined; logger?: Logger } = {},
): Promise<{ f: NotifyFixture; server: SmtpTestServer }> {
  const { addressOf = (id: string) => ADDRESSES[id], logger } = options;
  smtp = await startSmtpServer();
  fixture = openFixture({
    email: { host: smtp.host, port: port ?? smtp.port, from: 'ABC Tolls <alerts@tolls.example>', addressOf, helloName: 'tollstream.test' },
    render,
    retry: { maxAttempts, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5000 },
    ...(logger ? { logger } : {}),
  });
  fixture.notify.createTopic(TOPIC, { kind: 'inbox', customerField: 'customer_id' });
  fixture.notify.subscribe(TOPIC, { protocol: 'email' });
  return { f: fixture, server: smtp };
}

const ADDRESSES: Record<string, string> = { C1: 'ada@example.com', C2: 'grace@example.com' };

describe('email delivery', () => {
  it('looks addresses up in a store of their own, also while messages keep arriving', async () => {
    // The customers are in another database: each lookup takes a while, and messages are published meanwhile.
    const lookups: string[] = [];
    const slowLookup = async (id: string) => {
      lookups.push(id);
      await new Promise((resolve) => setTimeout(resolve, 30));
      return ADDRESSES[id];
    };
    const { f, server } = await withEmail(5, undefined, { addressOf: slowLookup });
    f.notify.start();
    for (let i = 0; i < 6; i++) {
      f.notify.publish(TOPIC, { customer_id: i % 2 === 0 ? 'C1' : 'C2', total_cents: i }, { idempotencyKey: `slow-${i}` });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor('six mails', () => server.received.length === 6);
    await waitFor('the outbox to drain', () => f.notify.stats().outboxPending === 0 && f.notify.stats().deliveriesPending === 0);
    await f.notify.stop();
    expect(server.received.map((m) => m.to[0]).sort()).toEqual([...Array(3).fill('ada@example.com'), ...Array(3).fill('grace@example.com')]);
    expect(server.received.map((m) => m.text).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `Your spending this month is ${i} cents (spend-alerts).`).sort());
    expect(lookups.length).toBeGreaterThan(0);
  });

  it("mails each message to its customer's address through the SMTP server", async () => {
    const { f, server } = await withEmail();
    f.notify.start();
    f.notify.publish(TOPIC, { customer_id: 'C2', total_cents: 4200 }, { idempotencyKey: 'breach:C2:2026-11:4000' });
    f.notify.publish(TOPIC, { customer_id: 'C-unknown', total_cents: 1 }, { idempotencyKey: 'breach:unknown' });
    await waitFor('the mail', () => server.received.length === 1);
    await waitFor('the outbox to drain', () => f.notify.stats().outboxPending === 0 && f.notify.stats().deliveriesPending === 0);
    await f.notify.stop();

    expect(server.received).toHaveLength(1);
    const [mail] = server.received;
    expect(mail).toMatchObject({ helo: 'tollstream.test', from: 'alerts@tolls.example', to: ['grace@example.com'] });
    expect(mail!.headers).toMatchObject({ from: 'ABC Tolls <alerts@tolls.example>', to: 'grace@example.com', subject: 'Spending alert for C2' });
    expect(mail!.headers['message-id']).toMatch(/^<[\w-]+@tollstream>$/);
    expect(mail!.text).toBe('Your spending this month is 4200 cents (spend-alerts).');
  });

  it('retries after a temporary refusal, and dead-letters a permanent one at once', async () => {
    const { f, server } = await withEmail(5);
    server.refuseNext(2, '451 4.3.0 try again later');
    f.notify.start();
    f.notify.publish(TOPIC, { customer_id: 'C1', total_cents: 1 }, { idempotencyKey: 'temp' });
    await waitFor('the mail after two refusals', () => server.received.length === 1);
    expect(server.received[0]!.to).toEqual(['ada@example.com']);

    server.refuseNext(1, '550 5.1.1 no such mailbox');
    f.notify.publish(TOPIC, { customer_id: 'C1', total_cents: 2 }, { idempotencyKey: 'perm' });
    await waitFor('a dead letter', () => f.notify.listDeadLetters().length === 1);
    await f.notify.stop();
    expect(f.notify.listDeadLetters()[0]).toMatchObject({ channel: 'email', url: 'mailto:ada@example.com', attempts: 1, idempotencyKey: 'perm' });
    expect(f.notify.listDeadLetters()[0]!.lastError).toMatch(/550 5\.1\.1/);
    expect(server.received).toHaveLength(1);
  });

  it('keeps retrying while the SMTP server cannot be reached', async () => {
    // A port that was just free: nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { f } = await withEmail(3, deadPort);
    f.notify.start();
    f.notify.publish(TOPIC, { customer_id: 'C1', total_cents: 1 }, { idempotencyKey: 'unreachable' });
    await waitFor('a dead letter', () => f.notify.listDeadLetters().length === 1);
    await f.notify.stop();
    expect(f.notify.listDeadLetters()[0]).toMatchObject({ channel: 'email', attempts: 3 });
    expect(f.notify.listDeadLetters()[0]!.lastError).toMatch(/ECONNREFUSED/);
  });
});

describe('a database from before push and email', () => {
  it('upgrades: deliveries pending under version 2 are still sent as webhooks', async () => {
    const { startWebhookReceiver } = await import('./test-helpers.ts');
    const receiver = await startWebhookReceiver('plain-secret-123');
    try {
      fixture = openFixture();
      const f = fixture;
      f.notify.createTopic(TOPIC, { kind: 'inbox', customerField: 'customer_id' });
      f.notify.subscribe(TOPIC, { protocol: 'webhook', url: receiver.url, secret: 'plain-secret-123' });
      f.notify.publish(TOPIC, { customer_id: 'C1' }, { idempotencyKey: 'before-upgrade' });
      // Back to the version 2 layout, with a delivery pending as version 2 wrote it.
      const db = tablesInternals(f.tables).db;
      db.exec(`ALTER TABLE notify_deliveries DROP COLUMN channel; ALTER TABLE notify_dead_letters DROP COLUMN channel;
               DROP INDEX notify_subscriptions_customer; UPDATE ts_schema SET version = 2 WHERE component = 'notify';`);
      db.prepare(
        `INSERT INTO notify_deliveries (outbox_id, subscription_id, url, secret, status, attempts, next_attempt_at, created_at, updated_at)
         SELECT o.id, s.id, s.url, s.secret, 'pending', 0, 0, 0, 0 FROM notify_outbox o, notify_subscriptions s`,
      ).run();
      db.prepare('UPDATE notify_outbox SET dispatched_at = 1').run();
      await f.reopen();
      expect(tablesInternals(f.tables).db.prepare("SELECT version FROM ts_schema WHERE component = 'notify'").pluck().get()).toBe(3);
      f.notify.start();
      await waitFor('the webhook', () => receiver.received.some((r) => r.status === 204));
      await f.notify.stop();
      expect(receiver.received[0]).toMatchObject({ id: 'before-upgrade', signatureValid: true, status: 204 });
    } finally {
      await receiver.close();
    }
  });
});

describe('delivery logs', () => {
  it("name a customer's subscription by its id, never the email address or the push endpoint", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    const { f, server } = await withEmail(5, undefined, { logger });
    server.refuseNext(1, '451 4.3.0 try again later');
    f.notify.start();
    f.notify.publish(TOPIC, { customer_id: 'C1', total_cents: 1 }, { idempotencyKey: 'logged-mail' });
    await waitFor('the mail after a refusal', () => server.received.length === 1);
    await waitFor('the delivery to be recorded', () => f.notify.stats().deliveriesPending === 0);
    await f.notify.stop();
    await fixture!.close();
    await smtp!.close();
    fixture = smtp = undefined;

    const { f: p, service } = await withPush(2, logger);
    const { browser } = subscribePush(p, service, 'C1');
    service.failNext(2, 503);
    p.notify.start();
    p.notify.publish(TOPIC, { customer_id: 'C1', total_cents: 2 }, { idempotencyKey: 'logged-push' });
    await waitFor('a dead letter', () => p.notify.listDeadLetters().length === 1);
    await p.notify.stop();

    const deliveries = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.deliveryId !== undefined);
    // A retried email (info), a delivered email (debug), a retried push (info), a dead-lettered push (warn).
    expect(deliveries.map((l) => `${String(l.level)} ${String(l.channel)}`)).toEqual(['info email', 'debug email', 'info webpush', 'warn webpush']);
    for (const line of deliveries) expect(line.subscriptionId).toEqual(expect.any(Number));
    const text = lines.join('\n');
    expect(text).not.toContain('ada@example.com');
    expect(text).not.toContain(browser.endpoint);
  });
});
