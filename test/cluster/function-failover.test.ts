/**
 * A deployed function shared by two Tollstream nodes (`tollstream up` processes with a `cluster` section) on a
 * JetStream log (3 nats-servers) and a PostgreSQL database of the test's own: its tables, checkpoints and
 * leases are there, so the two nodes split the stream's shards. Records keep arriving while one node is killed
 * with kill -9; the other takes its shards over once their leases expire, from the stored checkpoints, and every
 * acknowledged record is counted exactly once. Prints the time from the kill to the first record the survivor
 * counted on the dead node's shards. The verifier is shown to catch a lost and a doubled count.
 */
import crypto from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTollstream, type ServerProcess } from '../../bin/processes.ts';
import { openJetStreamLog, type JetStreamStreamLog } from '../../src/log/index.ts';
import { SHARED_FUNCTIONS_SCHEMA } from '../../src/server/functions.ts';
import { openPostgresTables, type Item, type TableStore } from '../../src/tables/index.ts';
import { postgresUrl } from '../postgres/server.ts';
import { startNatsCluster, type NatsCluster } from '../../bin/nats-cluster.ts';

const HANDLER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'count-by-id.ts');
const STREAM = 'events';
const SHARDS = 4;
const LEASE_MS = 3000;
const RENEW_MS = 1000;

interface Node {
  readonly name: string;
  readonly process: ServerProcess;
}

/** What /health says the node holds: the shard ids of the function's leases. */
async function heldShards(node: Node): Promise<string[]> {
  const health = (await (await fetch(`${node.process.url}/health`)).json()) as { leases?: { held: string[] } };
  return (health.leases?.held ?? []).filter((k) => k.startsWith(`function:count:${STREAM}:`)).map((k) => k.split(':').pop()!);
}

type Effect = { count: number; shardId: string; at: number };

/** Every count the function committed, by record id. */
async function effects(store: TableStore): Promise<Map<string, Effect>> {
  const out = new Map<string, Effect>();
  let cursor: string | undefined;
  do {
    const page = await store.scan<Effect>('effects', { limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    for (const item of page.items as readonly Item<Effect>[]) out.set(item.pk, item.value);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

/** Record ids acknowledged but not counted, counted more than once, and counted but never sent. */
function verifyCounts(counted: ReadonlyMap<string, Pick<Effect, 'count'>>, acknowledged: ReadonlySet<string>, sent: ReadonlySet<string>) {
  return {
    lost: [...acknowledged].filter((id) => !counted.has(id)),
    doubled: [...counted].filter(([, e]) => e.count !== 1).map(([id]) => id),
    unknown: [...counted.keys()].filter((id) => !sent.has(id)),
  };
}

/** Polls `check` every half second: the checks scan the whole table. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('a deployed function on two nodes, one killed with kill -9', () => {
  let nats: NatsCluster;
  let dir: string;
  let serverUrl: string;
  let database: string;
  let store: TableStore | undefined;
  let log: JetStreamStreamLog;
  const nodes: Node[] = [];

  beforeAll(async () => {
    serverUrl = postgresUrl();
    database = `tollstream_fnfail_${crypto.randomBytes(4).toString('hex')}`;
    await admin(serverUrl, `CREATE DATABASE ${database}`);
    const dbUrl = new URL(serverUrl);
    dbUrl.pathname = `/${database}`;
    nats = await startNatsCluster({ size: 3 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-fn-failover-'));
    for (const name of ['node-1', 'node-2']) {
      const config = {
        streams: [{ name: STREAM, shardCount: SHARDS }],
        warehouse: { enabled: false },
        alerts: { enabled: false },
        queries: { enabled: false },
        stationAlerts: { enabled: false },
        metrics: { historyIntervalSeconds: 0 },
        cluster: { natsServers: nats.urls, postgresUrl: dbUrl.toString(), nodeName: name, replicas: 3, leaseMs: LEASE_MS, leaseRenewMs: RENEW_MS },
        functions: { deploy: [{ name: 'count', stream: STREAM, handler: HANDLER, startingPosition: 'TRIM_HORIZON', batchSize: 100 }] },
      };
      const configFile = path.join(dir, `${name}.config.json`);
      await writeFile(configFile, JSON.stringify(config));
      // One after the other: the first creates the stream, the tables and the lease schema.
      const process = await startTollstream({ dataDir: path.join(dir, name), port: 0, extraArgs: ['--config', configFile], timeoutMs: 120_000 });
      nodes.push({ name, process });
    }
    log = await openJetStreamLog({ servers: nats.urls, replicas: 3, requestTimeoutMs: 20_000 });
    store = await openPostgresTables({ connectionString: dbUrl.toString(), schema: SHARED_FUNCTIONS_SCHEMA });
  }, 300_000);

  afterAll(async () => {
    for (const n of nodes) await n.process.stop(10_000);
    await store?.close();
    await log?.close().catch(() => undefined);
    await nats?.close();
    if (database) await admin(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('moves the dead node\'s shards to the other, which counts every acknowledged record exactly once', async () => {
    await eventually('the two nodes to hold two of the four shards each', async () => (await Promise.all(nodes.map(heldShards))).every((held) => held.length === SHARDS / 2), 60_000);
    const sent = new Set<string>();
    const acknowledged = new Set<string>();
    let next = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const ids = Array.from({ length: 20 }, () => `r${next++}`);
        for (const id of ids) sent.add(id);
        const results = await log.append(STREAM, ids.map((id) => ({ partitionKey: id, data: Buffer.from(JSON.stringify({ id })) })));
        results.forEach((r, i) => r.ok && acknowledged.add(ids[i]!));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await eventually('counts on every shard', async () => new Set([...(await effects(store!)).values()].map((e) => e.shardId)).size === SHARDS, 60_000);

    const [victim, survivor] = [nodes[1]!, nodes[0]!];
    const orphaned = await heldShards(victim);
    victim.process.kill('SIGKILL');
    await victim.process.exited;
    const killedAt = Date.now();
    let takeoverMs: number | undefined;
    await eventually(
      'the survivor to count a record of the dead node\'s shards',
      async () => {
        const after = [...(await effects(store!)).values()].filter((e) => orphaned.includes(e.shardId) && e.at > killedAt);
        if (after.length > 0) takeoverMs = Math.min(...after.map((e) => e.at)) - killedAt;
        return takeoverMs !== undefined;
      },
      60_000,
    );
    expect((await heldShards(survivor)).sort()).toEqual(expect.arrayContaining(orphaned));
    await new Promise((r) => setTimeout(r, 2000));
    producing = false;
    await producer;
    await eventually(`all ${acknowledged.size} acknowledged records counted`, async () => (await effects(store!)).size >= acknowledged.size, 120_000);
    // Let anything still in flight land, then judge.
    await new Promise((r) => setTimeout(r, 1500));
    const counted = await effects(store!);
    const verdict = verifyCounts(counted, acknowledged, sent);
    console.log(
      `function failover: kill -9 of ${victim.name} (shards ${orphaned.join(', ')}) -> first record counted by ${survivor.name} on them ${takeoverMs} ms after the kill ` +
        `(lease ${LEASE_MS} ms, renew ${RENEW_MS} ms); ${acknowledged.size} records acknowledged, ${counted.size} counted, ${verdict.lost.length} lost, ${verdict.doubled.length} doubled`,
    );
    expect(verdict).toEqual({ lost: [], doubled: [], unknown: [] });

    // The verifier catches a lost and a doubled count.
    const [lostId, doubledId] = [...acknowledged].slice(0, 2);
    const damaged = new Map(counted);
    damaged.delete(lostId!);
    damaged.set(doubledId!, { ...counted.get(doubledId!)!, count: 2 });
    expect(verifyCounts(damaged, acknowledged, sent)).toEqual({ lost: [lostId], doubled: [doubledId], unknown: [] });
  }, 300_000);
});
