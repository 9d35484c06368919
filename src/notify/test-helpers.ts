/** Helpers for notification tests: a webhook receiver on 127.0.0.1, a wait loop, a database per test. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openTables, type Tables } from '../tables/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openNotify } from './notify.ts';
import type { Notify, NotifyOptions } from './types.ts';
import { waitFor as waitUntil } from '../../test/support/wait.ts';

export interface ReceivedWebhook {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  /** Whether the signature matched, checked here from first principles (HMAC-SHA256 of id.timestamp.body). */
  readonly signatureValid: boolean;
  /** The status this receiver answered. */
  readonly status: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  close(): Promise<void>;
}

/** Answers 500 to the first `failFirst` requests (all of them when Infinity), then 204. */
export async function startWebhookReceiver(secret: string, failFirst = 0): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      const timestamp = String(req.headers['webhook-timestamp']);
      const signature = String(req.headers['webhook-signature']);
      const expected = Buffer.from(`v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`);
      const got = Buffer.from(signature);
      const signatureValid = got.length === expected.length && timingSafeEqual(got, expected);
      const status = received.length < failFirst ? 500 : 204;
      received.push({ id, timestamp, signature, body, signatureValid, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/spend`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. Not a timing assertion: a bound on a hang. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  await waitUntil(what, check, { timeoutMs, intervalMs: 5 });
}


export interface NotifyFixture {
  readonly dbPath: string;
  tables: Tables;
  notify: Notify;
  /** Stops the dispatcher, closes the database and opens both again on the same file. */
  reopen(options?: Partial<Omit<NotifyOptions, 'tables'>>): Promise<void>;
  close(): Promise<void>;
}

/** Fast test retry values: milliseconds, not minutes. */
export const TEST_RETRY = { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5000 } as const;

export function openFixture(options: Partial<Omit<NotifyOptions, 'tables'>> = {}): NotifyFixture {
  const dir = mkdtempSync(path.join(tmpdir(), 'tollstream-notify-'));
  const dbPath = path.join(dir, 'tables.db');
  const open = (opts: Partial<Omit<NotifyOptions, 'tables'>>) => {
    const tables = openTables({ path: dbPath });
    return { tables, notify: openNotify({ tables, retry: TEST_RETRY, pollIntervalMs: 50, ...opts }) };
  };
  let current = open(options);
  const fixture: NotifyFixture = {
    dbPath,
    tables: current.tables,
    notify: current.notify,
    async reopen(next = options) {
      await current.notify.stop();
      current.tables.close();
      current = open(next);
      fixture.tables = current.tables;
      fixture.notify = current.notify;
    },
    async close() {
      await current.notify.stop();
      current.tables.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}
