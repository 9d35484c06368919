import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelayMs, openNotify, signWebhook, verifyWebhook } from './index.ts';
import { openFixture, startWebhookReceiver, waitFor, type NotifyFixture, type WebhookReceiver } from './test-helpers.ts';

const SECRET = 'test-secret-123';

let f: NotifyFixture | undefined;
let receiver: WebhookReceiver | undefined;

afterEach(async () => {
  await f?.close();
  await receiver?.close();
  f = undefined;
  receiver = undefined;
});

async function setUp(failFirst: number, maxAttempts: number): Promise<{ f: NotifyFixture; receiver: WebhookReceiver }> {
  receiver = await startWebhookReceiver(SECRET, failFirst);
  f = openFixture({ retry: { maxAttempts, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5000 } });
  f.notify.createTopic('spend-alerts');
  f.notify.subscribe('spend-alerts', { protocol: 'webhook', url: receiver.url, secret: SECRET });
  return { f, receiver };
}

describe('webhook delivery', () => {
  it('refuses a retry schedule outside its ranges, naming the option', () => {
    f = openFixture();
    const { tables } = f;
    expect(() => openNotify({ tables, retry: { maxAttempts: 101 } })).toThrow(/^retry.maxAttempts must be an integer from 1 to 100$/);
    expect(() => openNotify({ tables, retry: { baseDelayMs: 0 } })).toThrow(/^retry.baseDelayMs must be an integer from 1 to 300000$/);
    expect(() => openNotify({ tables, retry: { timeoutMs: 0 } })).toThrow(/^retry.timeoutMs must be a positive integer$/);
  });

  it('retries failed attempts with the same signed webhook-id until one succeeds', async () => {
    const { f, receiver } = await setUp(2, 5);
    f.notify.start();
    f.notify.publish('spend-alerts', { customer_id: 'c-1', total_cents: 5500 }, { idempotencyKey: 'spend-alert:c-1:2026-11:5000' });
    await waitFor('a successful attempt', () => receiver.received.some((r) => r.status === 204));

    expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 204]);
    for (const r of receiver.received) {
      expect(r.signatureValid).toBe(true);
      expect(r.id).toBe('spend-alert:c-1:2026-11:5000');
      expect(Number(r.timestamp)).toBeGreaterThan(1_700_000_000);
      expect(JSON.parse(r.body)).toMatchObject({ type: 'spend-alerts', data: { customer_id: 'c-1', total_cents: 5500 } });
    }
    await f.notify.stop();
    expect(receiver.received).toHaveLength(3);
    expect(f.notify.listDeadLetters()).toEqual([]);
  });

  it('dead-letters a delivery after its last attempt, and a redrive delivers it', async () => {
    const { f, receiver } = await setUp(3, 3);
    f.notify.start();
    f.notify.publish('spend-alerts', { customer_id: 'c-9' }, { idempotencyKey: 'alert-9' });
    await waitFor('a dead letter', () => f.notify.listDeadLetters().length === 1);

    const [dead] = f.notify.listDeadLetters();
    expect(dead).toMatchObject({ topic: 'spend-alerts', url: receiver.url, idempotencyKey: 'alert-9', attempts: 3, lastError: 'HTTP 500' });
    expect(dead?.message).toEqual({ customer_id: 'c-9' });
    expect(receiver.received).toHaveLength(3);
    expect(f.notify.stats()).toEqual({ outboxPending: 0, deliveriesPending: 0, deadLetters: 1, mirrorsPending: 0 });

    f.notify.redriveDeadLetter(dead?.id ?? -1);
    await waitFor('the redriven attempt', () => receiver.received.length === 4);
    expect(receiver.received[3]?.status).toBe(204);
    expect(f.notify.listDeadLetters()).toEqual([]);
  });

  it('counts an unreachable receiver as a failed attempt', async () => {
    receiver = await startWebhookReceiver(SECRET);
    const url = receiver.url;
    await receiver.close();
    receiver = undefined;
    f = openFixture({ retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5000 } });
    f.notify.createTopic('t');
    f.notify.subscribe('t', { protocol: 'webhook', url, secret: SECRET });
    f.notify.start();
    f.notify.publish('t', { a: 1 }, { idempotencyKey: 'k' });
    const fixture = f;
    await waitFor('a dead letter', () => fixture.notify.listDeadLetters().length === 1);
    expect(fixture.notify.listDeadLetters()[0]?.lastError).toBe('ECONNREFUSED');
  });
});

describe('hanging receivers', () => {
  let hanging: Server | undefined;
  afterEach(async () => {
    hanging?.closeAllConnections();
    await new Promise((r) => (hanging ? hanging.close(r) : r(undefined)));
    hanging = undefined;
  });

  async function startHanging(): Promise<{ url: string; requests: () => number }> {
    let count = 0;
    hanging = createServer(() => {
      count++; // never answers
    });
    await new Promise<void>((r) => hanging?.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`, requests: () => count };
  }

  it('an attempt without an answer within timeoutMs fails and is retried', async () => {
    const { url, requests } = await startHanging();
    // Long enough for each attempt's request to reach the receiver on a loaded machine.
    f = openFixture({ retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 500 } });
    const fixture = f;
    fixture.notify.createTopic('t');
    fixture.notify.subscribe('t', { protocol: 'webhook', url, secret: SECRET });
    fixture.notify.start();
    fixture.notify.publish('t', { a: 1 }, { idempotencyKey: 'k' });
    await waitFor('a dead letter', () => fixture.notify.listDeadLetters().length === 1);
    expect(requests()).toBe(2);
    expect(fixture.notify.listDeadLetters()[0]?.lastError).toBe('no answer within 500 ms');
  });

  it('stop() aborts a request in flight without counting it as an attempt', async () => {
    const { url, requests } = await startHanging();
    f = openFixture({ retry: { maxAttempts: 1, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 60_000 } });
    const fixture = f;
    fixture.notify.createTopic('t');
    fixture.notify.subscribe('t', { protocol: 'webhook', url, secret: SECRET });
    fixture.notify.start();
    fixture.notify.publish('t', { a: 1 }, { idempotencyKey: 'k' });
    await waitFor('the request', () => requests() === 1);
    await fixture.notify.stop();
    // With maxAttempts 1, a counted attempt would have dead-lettered it.
    expect(fixture.notify.stats()).toEqual({ outboxPending: 0, deliveriesPending: 1, deadLetters: 0, mirrorsPending: 0 });
  });
});

describe('signatures and backoff', () => {
  it('signs and verifies in the Standard Webhooks format, including whsec_ secrets', () => {
    const now = () => 1_790_000_000_000;
    const secret = `whsec_${Buffer.from('0123456789abcdef').toString('base64')}`;
    const signature = signWebhook(secret, 'msg_1', 1_790_000_000, '{"a":1}');
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const headers = { id: 'msg_1', timestamp: '1790000000', signature: `v1,bogus ${signature}` };
    expect(verifyWebhook(secret, headers, '{"a":1}', { now })).toBe(true);
    expect(verifyWebhook(secret, headers, '{"a":2}', { now })).toBe(false);
    expect(verifyWebhook(secret, { ...headers, timestamp: '1789990000' }, '{"a":1}', { now })).toBe(false);
  });

  it('draws full-jitter delays below a doubling ceiling that stops at the cap', () => {
    const top = () => 0.999999;
    expect(backoffDelayMs(1, 1000, 300_000, top)).toBe(999);
    expect(backoffDelayMs(3, 1000, 300_000, top)).toBe(3999);
    expect(backoffDelayMs(20, 1000, 300_000, top)).toBe(299_999);
    expect(backoffDelayMs(5, 1000, 300_000, () => 0)).toBe(0);
  });
});
