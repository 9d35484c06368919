/**
 * Operators browse the notifications given up after their last attempt and send one again: the routes list the
 * dead letters of every store, need the operator key, and a redrive reaches the receiver.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { Registry } from '../metrics/index.ts';
import { openFixture, startWebhookReceiver, waitFor, type NotifyFixture, type WebhookReceiver } from '../notify/test-helpers.ts';
import { registerConsumerMetrics } from './consumer-metrics.ts';
import { createDeadLetterRoutes } from './dead-letters.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

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
    const routes = createDeadLetterRoutes({
      consumers,
      operatorAuth: (header) => {
        if (header !== 'Bearer op') throw new TollstreamError('UNAUTHORIZED', 'the operator key is needed');
      },
      logger: silentLogger,
    });
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
});
