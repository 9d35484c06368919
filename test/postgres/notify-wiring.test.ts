/**
 * A server's notifications with and without `cluster`: two nodes' shared stores (`openFunctionsState`, as the
 * server opens them) on a PostgreSQL database of the test's own serve one set of notifications: what a function
 * publishes in one node's `tables.db` reaches the other node's inbox, a subscription made on one is listed on the
 * other, and their metrics and dead letters come from the shared schema. Without `cluster` the notifications stay
 * in the node's `tables.db`.
 */
import crypto from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { openEmbeddedLog, type EmbeddedStreamLog } from '../../src/log/index.ts';
import { Registry } from '../../src/metrics/index.ts';
import { openPostgresNotify, NOTIFY_POSTGRES_SCHEMA } from '../../src/notify/index.ts';
import { registerConsumerMetrics } from '../../src/server/consumer-metrics.ts';
import { sharedNotifyOnce } from '../../src/server/app-stores.ts';
import { openFunctionsState, type FunctionsState } from '../../src/server/functions.ts';
import { waitFor } from '../support/wait.ts';
import { postgresSchema } from './server.ts';

const admin = postgresSchema('unused').admin;
let database: string;
let dbUrl: string;
let dir: string;
let log: EmbeddedStreamLog;
let undo: Array<() => Promise<void> | void>;

beforeEach(async () => {
  database = `ntf_${crypto.randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${database}`);
  const u = new URL(postgresSchema('unused').url);
  u.pathname = `/${database}`;
  dbUrl = u.toString();
  dir = await mkdtemp(path.join(tmpdir(), 'tollstream-notify-wiring-'));
  undo = [];
  log = await openEmbeddedLog({ dir: path.join(dir, 'log'), fsync: 'interval' });
});

afterEach(async () => {
  for (const step of undo) await step();
  await log?.close();
  await rm(dir, { recursive: true, force: true });
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
});

async function openNode(name: string, cluster: boolean): Promise<FunctionsState> {
  const env: Record<string, string> = { TOLLSTREAM_DATA_DIR: path.join(dir, name) };
  if (cluster) {
    Object.assign(env, { TOLLSTREAM_CLUSTER_NATS_SERVERS: '["nats://127.0.0.1:4222"]', TOLLSTREAM_CLUSTER_POSTGRES_URL: dbUrl, TOLLSTREAM_CLUSTER_NODE_NAME: name });
  }
  const config = await loadConfig({ cwd: dir, env });
  const consumers = registerConsumerMetrics(new Registry());
  const sharedNotify = config.cluster ? sharedNotifyOnce({ postgresUrl: config.cluster.postgresUrl, nodeName: config.cluster.nodeName, logger: silentLogger }, undo) : undefined;
  return openFunctionsState({ log, config, logger: silentLogger, consumers, sharedNotify }, undo);
}

describe("a server's notifications", () => {
  it('with cluster set, are the ones the nodes share in PostgreSQL, fed by what each tables.db publishes', async () => {
    const one = await openNode('node-1', true);
    const two = await openNode('node-2', true);
    await one.notify.createTopic('alerts', { kind: 'inbox' });
    one.notify.start();
    two.notify.start();
    // A function committing to node-1's tables.db.
    one.tables.transaction((tx) => tx.publish('alerts', { customer_id: 'c-1', n: 1 }, { idempotencyKey: 'alert-1' }));
    await waitFor("the alert in node-2's inbox", async () => (await two.notify.listInbox('c-1')).length === 1);
    const sub = await two.notify.subscribe('alerts', { protocol: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-enough-length' });
    expect((await one.notify.listSubscriptions('alerts')).map((s) => s.id)).toEqual([sub.id]);
    // The schema is the shared one of the database: a third party sees the same.
    const peek = await openPostgresNotify({ connectionString: dbUrl });
    try {
      expect(peek.schema).toBe(NOTIFY_POSTGRES_SCHEMA);
      expect((await peek.listInbox('c-1')).map((e) => e.idempotencyKey)).toEqual(['alert-1']);
    } finally {
      await peek.close();
    }
  });

  it('without cluster, stay in the node’s tables.db', async () => {
    const alone = await openNode('alone', false);
    await alone.notify.createTopic('alerts', { kind: 'inbox' });
    alone.notify.start();
    alone.tables.transaction((tx) => tx.publish('alerts', { customer_id: 'c-1' }, { idempotencyKey: 'alert-1' }));
    await waitFor('the alert in the inbox', async () => (await alone.notify.listInbox('c-1')).length === 1);
    const peek = await openPostgresNotify({ connectionString: dbUrl });
    try {
      expect(await peek.listTopics()).toEqual([]);
    } finally {
      await peek.close();
    }
  });
});
