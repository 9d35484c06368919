/**
 * The server's notifications follow the `notify.retry` settings: an app's store gives a failing webhook exactly
 * the configured attempts before dead-lettering it, and waits the configured first backoff before the second.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../config/index.ts';
import { silentLogger } from '../core/logger.ts';
import { openEmbeddedLog } from '../log/index.ts';
import { Registry } from '../metrics/index.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../notify/test-helpers.ts';
import { waitFor } from '../../test/support/wait.ts';
import { openAppStores } from './app-stores.ts';
import { registerConsumerMetrics } from './consumer-metrics.ts';

const SECRET = 'a-secret-of-sixteen';
const undo: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of undo.splice(0)) await step();
});

/** An app's stores on a server configured with `retry`, a topic `ops` whose one subscriber always answers 500. */
async function failingWebhook(retry: TollstreamConfig['notify']['retry']) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-app-stores-'));
  undo.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const log = await openEmbeddedLog({ dir: path.join(dataDir, 'streams'), fsync: 'always' });
  undo.unshift(() => log.close());
  const receiver: WebhookReceiver = await startWebhookReceiver(SECRET, Infinity);
  undo.unshift(() => receiver.close());
  const config: TollstreamConfig = { ...DEFAULT_CONFIG, dataDir, notify: { retry } };
  const consumers = registerConsumerMetrics(new Registry());
  const { notify } = await openAppStores('ops', { config, log, logger: silentLogger, consumers, onClusterRuntime: () => {} }, undo);
  await notify.createTopic('ops');
  await notify.subscribe('ops', { protocol: 'webhook', url: receiver.url, secret: SECRET });
  await notify.start();
  await notify.publish('ops', { plaza_id: 'P01' }, { idempotencyKey: 'ops-1' });
  return { notify, receiver };
}

describe('notification retries of an app store', () => {
  it('dead-letters a failing delivery after notify.retry.maxAttempts attempts', async () => {
    const { notify, receiver } = await failingWebhook({ maxAttempts: 3, baseDelayMs: 5 });
    const [dead] = await waitFor('the dead letter', async () => {
      const listed = await notify.listDeadLetters();
      return listed.length > 0 && listed;
    }, { timeoutMs: 10_000 });
    expect(dead).toMatchObject({ topic: 'ops', url: receiver.url, attempts: 3, lastError: 'HTTP 500' });
    expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 500]);
  });

  it('waits notify.retry.baseDelayMs before the second attempt', async () => {
    // Five minutes: with the default second (a wait below 1 s) the second attempt, the last, would come at once.
    const { notify, receiver } = await failingWebhook({ maxAttempts: 2, baseDelayMs: 300_000 });
    await waitFor('the first attempt', () => receiver.received.length === 1, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 2500));
    expect(receiver.received).toHaveLength(1);
    expect(await notify.listDeadLetters()).toEqual([]);
    expect((await notify.stats()).deliveriesPending).toBe(1);
  });
});
