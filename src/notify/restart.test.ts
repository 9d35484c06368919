import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.ts';
import { openTables } from '../tables/index.ts';
import { openNotify } from './index.ts';
import { openFixture, startWebhookReceiver, waitFor, type NotifyFixture, type WebhookReceiver } from './test-helpers.ts';

const SECRET = 'restart-secret';

let f: NotifyFixture | undefined;
let receiver: WebhookReceiver | undefined;

afterEach(async () => {
  await f?.close();
  await receiver?.close();
  f = undefined;
  receiver = undefined;
});

describe('restart', () => {
  it('a pending webhook delivery resumes after reopening, keeping its attempt count', async () => {
    receiver = await startWebhookReceiver(SECRET, 1);
    // A long backoff keeps the delivery pending after its first failure, as a crash would find it.
    f = openFixture({ retry: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: 5000 }, random: () => 0.5 });
    f.notify.createTopic('alerts');
    f.notify.subscribe('alerts', { protocol: 'webhook', url: receiver.url, secret: SECRET });
    f.notify.start();
    f.notify.publish('alerts', { customer_id: 'c-1' }, { idempotencyKey: 'alert-1' });
    const r = receiver;
    await waitFor('the first failed attempt', () => r.received.length === 1);
    await f.notify.stop();

    // Reopen with a clock 31 s ahead, past the 30 s backoff: the delivery is due at once.
    const later = () => Date.now() + 31_000;
    await f.reopen({ retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5000 }, now: later });
    f.notify.start();
    await waitFor('the resumed attempt', () => r.received.length === 2);
    expect(r.received.map((x) => [x.id, x.status, x.signatureValid])).toEqual([
      ['alert-1', 500, true],
      ['alert-1', 204, true],
    ]);
    expect(f.notify.listDeadLetters()).toEqual([]);
  });

  it('closing the database stops a running dispatcher without errors', async () => {
    const lines: string[] = [];
    const dir = mkdtempSync(path.join(tmpdir(), 'tollstream-notify-close-'));
    try {
      const tables = openTables({ path: path.join(dir, 'tables.db') });
      const notify = openNotify({ tables, pollIntervalMs: 5, logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
      notify.createTopic('t', { kind: 'inbox' });
      notify.start();
      notify.publish('t', { customer_id: 'c-1' }, { idempotencyKey: 'k' });
      await waitFor('the entry', () => notify.listInbox('c-1').length === 1);
      tables.close();
      // Several poll intervals pass: a dispatcher still running would log failures on the closed database.
      await new Promise((r) => setTimeout(r, 50));
      expect(lines).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('notifications committed while no dispatcher ran are delivered after reopening', async () => {
    f = openFixture();
    f.notify.createTopic('alerts', { kind: 'inbox' });
    f.tables.createTable('totals');
    f.tables.transaction((tx) => {
      tx.update('totals', { pk: 'c-1' }, { add: { total_cents: 6000 } });
      tx.publish('alerts', { customer_id: 'c-1', total_cents: 6000 }, { idempotencyKey: 'alert-c-1' });
    });
    await f.reopen();
    expect(f.notify.listInbox('c-1')).toEqual([]);
    f.notify.start();
    const fixture = f;
    await waitFor('the inbox entry', () => fixture.notify.listInbox('c-1').length === 1);
    expect(fixture.notify.listInbox('c-1')[0]?.message).toEqual({ customer_id: 'c-1', total_cents: 6000 });
    // Publishing the same key again after the restart is still a no-op.
    expect(fixture.notify.publish('alerts', { customer_id: 'c-1' }, { idempotencyKey: 'alert-c-1' }).duplicate).toBe(true);
  });
});
