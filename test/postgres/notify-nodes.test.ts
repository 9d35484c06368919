/**
 * Two nodes' notifications on one PostgreSQL schema: what one publishes the other serves, woken through
 * LISTEN/NOTIFY; with both dispatchers running each delivery and each mirrored message goes out once; a node
 * killed (kill -9) in the middle of a delivery leaves it to the other, which sends it with the same webhook-id.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  forwardingNotifications,
  loadOrCreateVapidKeys,
  openNotify,
  openPostgresNotify,
  publishToPostgresNotify,
  type InboxEntry,
  type MirrorRecord,
  type PostgresNotify,
  type PostgresNotifyOptions,
} from '../../src/notify/index.ts';
import { startWebhookReceiver, TEST_RETRY } from '../../src/notify/test-helpers.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { openPostgresTables, openTables, type TableStore } from '../../src/tables/index.ts';
import { startPushService } from '../support/push-service.ts';
import { startSmtpServer } from '../support/smtp-server.ts';
import { tablesInternals } from '../../src/tables/internal.ts';

const tablesInternalsDb = (tables: Parameters<typeof tablesInternals>[0]) =>
  tablesInternals(tables).db as unknown as { prepare(sql: string): { run(): unknown; get(): { n: number } | undefined } };
import { waitFor } from '../support/wait.ts';
import { postgresSchema, postgresUrl } from './server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = 'two-nodes-secret-of-enough-length';

let schema: string;
let nodes: PostgresNotify[];
let store: TableStore;

async function node(options: Partial<PostgresNotifyOptions> = {}): Promise<PostgresNotify> {
  const n = await openPostgresNotify({ connectionString: postgresUrl(), schema, retry: TEST_RETRY, pollIntervalMs: 50, ...options });
  nodes.push(n);
  return n;
}

beforeEach(async () => {
  schema = `nn_${crypto.randomBytes(6).toString('hex')}`;
  nodes = [];
  store = await openPostgresTables({ connectionString: postgresUrl(), schema: `${schema}_tables` });
  publishToPostgresNotify(store, { schema });
});

afterEach(async () => {
  for (const n of nodes) await n.close();
  await store.close();
  await postgresSchema().admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_tables" CASCADE`);
});

/** Collects the customer's live feed on `n` until `count` entries came; `stop` ends it sooner. */
function follow(n: PostgresNotify, customerId: string, count: number): { got: InboxEntry[]; done: Promise<void>; stop: AbortController } {
  const stop = new AbortController();
  const got: InboxEntry[] = [];
  const done = (async () => {
    for await (const entry of n.inboxEvents(customerId, { signal: stop.signal })) {
      got.push(entry);
      if (got.length === count) return;
    }
  })();
  return { got, done, stop };
}

describe('notifications shared by two nodes on PostgreSQL', () => {
  it("a function's publish reaches the other node's inbox and live feed through LISTEN/NOTIFY, with polling out of the way", async () => {
    // Polls ten minutes apart: only the notifications of the commits can wake the dispatchers and the feed in time.
    const slow = { pollIntervalMs: 600_000 };
    const a = await node(slow);
    const b = await node(slow);
    await a.createTopic('alerts', { kind: 'inbox' });
    a.start();
    b.start();
    const { got, done: feed, stop } = follow(b, 'c-1', 5);
    for (let i = 1; i <= 5; i++) {
      await store.transaction((tx) => tx.publish('alerts', { customer_id: 'c-1', n: i }, { idempotencyKey: `alert-${i}` }));
      await waitFor(`entry ${i} on the other node's live feed`, () => got.length === i, { timeoutMs: 20_000 });
    }
    await feed;
    stop.abort();
    expect(got.map((e) => e.message.n)).toEqual([1, 2, 3, 4, 5]);
    expect((await a.listInbox('c-1')).map((e) => e.id)).toEqual(got.map((e) => e.id));
  });

  it('a node whose listening connection is cut keeps serving its feed by polling, and listens again', async () => {
    const a = await node({ nodeName: 'node-a' });
    const b = await node({ nodeName: 'node-b', pollIntervalMs: 200 });
    await a.createTopic('alerts', { kind: 'inbox' });
    a.start();
    const listening = async () =>
      (await postgresSchema().admin("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [`tollstream-notify-listen:${schema}`])).rows.map(
        (r) => r.pid as number,
      );
    await waitFor('both nodes listening', async () => (await listening()).length === 2);
    const before = await listening();
    // Cut every listening connection, as a server restart or a network cut would.
    await postgresSchema().admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`tollstream-notify-listen:${schema}`]);
    const { got, done, stop } = follow(b, 'c-1', 2);
    await a.publish('alerts', { customer_id: 'c-1', n: 1 }, { idempotencyKey: 'while-cut' });
    await waitFor('the entry on the feed of the cut node', () => got.length === 1);
    await waitFor('both nodes listening again', async () => {
      const now = await listening();
      return now.length === 2 && now.every((pid) => !before.includes(pid));
    });
    await a.publish('alerts', { customer_id: 'c-1', n: 2 }, { idempotencyKey: 'after' });
    await done;
    stop.abort();
    expect(got.map((e) => e.idempotencyKey)).toEqual(['while-cut', 'after']);
  });

  it('a live feed misses and repeats nothing while both nodes fan out one customer\'s messages at once', async () => {
    const a = await node({ nodeName: 'node-a' });
    const b = await node({ nodeName: 'node-b' });
    await a.createTopic('alerts', { kind: 'inbox' });
    a.start();
    b.start();
    const { got, done: feed, stop } = follow(b, 'c-1', 100);
    // Each publish wakes its own node's dispatcher: the two fan out side by side.
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).publish('alerts', { customer_id: 'c-1', n: i }, { idempotencyKey: `k-${i}` })));
    await feed;
    stop.abort();
    const stored = (await a.listInbox('c-1', { limit: 500 })).map((e) => e.id);
    expect(got.map((e) => e.id)).toEqual(stored);
    expect(new Set(got.map((e) => e.message.n)).size).toBe(100);
  });

  it('an inbox entry that commits after a later-numbered one cannot exist: a fan-out waits for the one in progress', async () => {
    const a = await node({ nodeName: 'node-a' });
    await a.createTopic('alerts', { kind: 'inbox' });
    const { got, done: feed, stop } = follow(a, 'c-1', Infinity);
    // Another node's fan-out in progress: it holds the fan-out lock and has taken an entry id, not yet committed.
    const other = new pg.Client({ connectionString: postgresUrl() });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:notify-fan-out:${schema}`]);
      await other.query(
        `INSERT INTO "${schema}".notify_inbox (customer_id, outbox_id, topic, message, idempotency_key, created_at) VALUES ('c-1', 0, 'alerts', '{"n":0}', 'other-node', 0)`,
      );
      a.start();
      await a.publish('alerts', { customer_id: 'c-1', n: 1 }, { idempotencyKey: 'k-1' });
      // This node's fan-out now waits for the lock (were it not to, its entry would commit first with the larger id).
      await waitFor('the fan-out to wait for the lock, or its entry to arrive', async () =>
        got.length > 0 ||
        ((
          await postgresSchema().admin(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)",
            [`tollstream:notify-fan-out:${schema}`],
          )
        ).rowCount ?? 0) > 0);
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    await waitFor('both entries on the feed', () => got.length === 2, { timeoutMs: 10_000 }).catch(() => undefined);
    stop.abort();
    await feed;
    expect(got.map((e) => e.idempotencyKey)).toEqual(['other-node', 'k-1']);
  });

  it('with both dispatchers running, every webhook delivery and every mirrored message goes out once', async () => {
    const receiver = await startWebhookReceiver(SECRET);
    const appended: string[] = [];
    const mirror = {
      routes: [{ topic: 'alerts', stream: 'alerts_stream' }],
      append: async (_stream: string, records: readonly MirrorRecord[]) => {
        appended.push(...records.map((r) => r.idempotencyKey));
        return records.map(() => ({ ok: true }));
      },
    };
    try {
      const a = await node({ mirror, nodeName: 'node-a' });
      const b = await node({ mirror, nodeName: 'node-b' });
      await a.createTopic('alerts', { kind: 'inbox' });
      await b.subscribe('alerts', { protocol: 'webhook', url: receiver.url, secret: SECRET });
      a.start();
      b.start();
      const keys = Array.from({ length: 200 }, (_, i) => `alert-${i}`);
      await Promise.all(
        keys.map((key, i) => (i % 2 === 0 ? a : b).publish('alerts', { customer_id: `c-${i % 7}`, n: i }, { idempotencyKey: key })),
      );
      await waitFor('200 deliveries', () => receiver.received.length >= 200);
      await waitFor('200 mirrored messages', () => appended.length >= 200);
      await waitFor('nothing pending', async () => {
        const s = await a.stats();
        return s.outboxPending === 0 && s.deliveriesPending === 0 && s.mirrorsPending === 0;
      });
      expect(receiver.received.map((r) => r.id).sort()).toEqual([...keys].sort());
      expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
      expect([...appended].sort()).toEqual([...keys].sort());
      let inboxTotal = 0;
      for (let c = 0; c < 7; c++) inboxTotal += (await b.listInbox(`c-${c}`, { limit: 500 })).length;
      expect(inboxTotal).toBe(200);
    } finally {
      await receiver.close();
    }
  });

  it('a node killed in the middle of a delivery leaves it to the other, which sends it with the same webhook-id', async () => {
    // Holds the first request open (the node that sent it is killed meanwhile), answers 204 to the others.
    const requests: Array<{ id: string; answered: boolean }> = [];
    const held: ServerResponse[] = [];
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        if (requests.length === 0) {
          requests.push({ id, answered: false });
          held.push(res);
          return;
        }
        requests.push({ id, answered: true });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const survivor = await node({ nodeName: 'survivor' });
    await survivor.createTopic('ops');
    await survivor.subscribe('ops', { protocol: 'webhook', url, secret: SECRET });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), path.join(ROOT, 'test/postgres/notify-node-child.ts'), postgresUrl(), schema, '2000'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor('the doomed node to start', () => out.includes('ready'));
      await survivor.publish('ops', { n: 1 }, { idempotencyKey: 'ops-1' });
      await waitFor('the doomed node to send the delivery', () => requests.length === 1);
      child.kill('SIGKILL');
      await exited;
      // Started only now, so the first attempt was the doomed node's.
      survivor.start();
      await waitFor('the survivor to send it again', () => requests.length === 2, { timeoutMs: 30_000 });
      expect(requests).toEqual([
        { id: 'ops-1', answered: false },
        { id: 'ops-1', answered: true },
      ]);
      await waitFor('the delivery recorded as delivered', async () => (await survivor.stats()).deliveriesPending === 0);
      expect((await survivor.stats()).deadLetters).toBe(0);
    } finally {
      child.kill('SIGKILL');
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a node sends only the channels it is set up for: a push waits for a node with the VAPID keys, untouched meanwhile', async () => {
    const service = await startPushService();
    const receiver = await startWebhookReceiver(SECRET);
    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-vapid-'));
    try {
      const plain = await node({ nodeName: 'plain' });
      await plain.createTopic('alerts', { kind: 'inbox' });
      await plain.createTopic('ops');
      await plain.subscribe('ops', { protocol: 'webhook', url: receiver.url, secret: SECRET });
      const browser = service.subscribe();
      await plain.subscribe('alerts', { protocol: 'webpush', customerId: 'c-1', endpoint: browser.endpoint, ...browser.keys });
      plain.start();
      await plain.publish('alerts', { customer_id: 'c-1', total_cents: 6000 }, { idempotencyKey: 'push-1' });
      await waitFor('the push delivery to exist', async () => (await plain.stats()).deliveriesPending === 1);
      // A webhook published after it: once it is delivered, the node has looked at its due deliveries since.
      await plain.publish('ops', { n: 1 }, { idempotencyKey: 'barrier-1' });
      await waitFor('the barrier webhook', () => receiver.received.length === 1);
      expect(service.received).toHaveLength(0);
      expect(await plain.listDeadLetters()).toEqual([]);
      const attempts = await postgresSchema().admin(`SELECT attempts, claimed_by FROM "${schema}".notify_deliveries WHERE channel = 'webpush'`);
      expect(attempts.rows).toEqual([{ attempts: 0, claimed_by: null }]);

      const pusher = await node({ nodeName: 'pusher', webPush: { keys: loadOrCreateVapidKeys(path.join(keyDir, 'vapid.json')), subject: 'mailto:ops@example.com' } });
      pusher.start();
      await waitFor('the push from the node with the keys', () => service.received.length === 1);
      await waitFor('the push recorded', async () => (await pusher.stats()).deliveriesPending === 0);
      expect(await pusher.listDeadLetters()).toEqual([]);
    } finally {
      await service.close();
      await receiver.close();
      fs.rmSync(keyDir, { recursive: true, force: true });
    }
  });

  it("a node that cannot look a customer's address up leaves the message to one that can, rather than fan it out without its mail", async () => {
    const smtp = await startSmtpServer();
    try {
      const email = { host: smtp.host, port: smtp.port, from: 'alerts@tolls.example', addressOf: (c: string) => (c === 'c-1' ? 'ada@example.com' : undefined) };
      const mailer = await node({ nodeName: 'mailer', email });
      const plain = await node({ nodeName: 'plain' });
      await mailer.createTopic('alerts', { kind: 'inbox' });
      await mailer.createTopic('ops', { kind: 'inbox' });
      await mailer.subscribe('alerts', { protocol: 'email' });
      // Both in the outbox before the first pass: the plain node's first page holds both, in this order.
      await plain.publish('ops', { customer_id: 'c-1', n: 0 }, { idempotencyKey: 'no-mail-needed' });
      await plain.publish('alerts', { customer_id: 'c-1', n: 1 }, { idempotencyKey: 'needs-an-address' });
      plain.start();
      await waitFor('the message without mail fanned out', async () => (await plain.listInbox('c-1')).length === 1);
      expect((await plain.stats()).outboxPending).toBe(1);
      mailer.start();
      await waitFor('the mail', () => smtp.received.length === 1);
      expect(smtp.received[0]!.to).toEqual(['ada@example.com']);
      expect((await plain.listInbox('c-1')).map((e) => e.idempotencyKey)).toEqual(['no-mail-needed', 'needs-an-address']);
    } finally {
      await smtp.close();
    }
  });

  it("what a node's SQLite tables publish is carried on to the shared notifications once, also when a crash repeats it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-forward-'));
    const tables = openTables({ path: path.join(dir, 'tables.db') });
    try {
      const shared = await node({ nodeName: 'forwarder' });
      const reader = await node({ nodeName: 'reader' });
      const notify = forwardingNotifications({ local: openNotify({ tables }), tables, shared, logger: silentLogger, pollIntervalMs: 50 });
      await notify.createTopic('alerts', { kind: 'inbox' });
      notify.start();
      for (let i = 1; i <= 3; i++) tables.transaction((tx) => tx.publish('alerts', { customer_id: 'c-1', n: i }, { idempotencyKey: `local-${i}` }));
      await waitFor('three entries on the other node', async () => (await reader.listInbox('c-1')).length === 3);
      await notify.stop();
      // As if the node died after publishing and before marking: the rows are carried on again, with their keys.
      tables.transaction(() => tablesInternalsDb(tables).prepare('UPDATE notify_outbox SET dispatched_at = NULL').run());
      notify.start();
      tables.transaction((tx) => tx.publish('alerts', { customer_id: 'c-1', n: 4 }, { idempotencyKey: 'local-4' }));
      await waitFor('the fourth entry', async () => (await reader.listInbox('c-1')).length === 4);
      await waitFor('the SQLite outbox carried on', () => tablesInternalsDb(tables).prepare('SELECT count(*) AS n FROM notify_outbox WHERE dispatched_at IS NULL').get()!.n === 0);
      await notify.stop();
      expect((await reader.listInbox('c-1')).map((e) => e.idempotencyKey)).toEqual(['local-1', 'local-2', 'local-3', 'local-4']);
    } finally {
      tables.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
