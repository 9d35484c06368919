/**
 * `npm run bench:cluster`: what a second and third node buy, on loopback. The same load generator (producers
 * putting batches of tolls through the Kinesis API, spread round-robin over every node's gateway) runs for a
 * fixed time against a cluster of 1 node and of 3 nodes (both on 3 nats-servers and one PostgreSQL, as
 * `npm run cluster:local` starts them), and reports the acknowledged put rate, how long until the warehouse held
 * every acknowledged toll (end to end), server CPU per toll (nodes + nats-servers, from /proc), and PostgreSQL's
 * commits per second and lease-table writes per second while the load ran. Then, on the 3 nodes, kill -9 of one
 * node under traffic and the time until a new owner delivers the first record of its shards, until the survivors
 * hold all its delivery leases, and until the warehouse has every acknowledged toll.
 *
 * Flags: --seconds S (load per phase, 20), --producers N (6), --batch N (500), --lease-ms and --renew-ms (the
 * defaults of `cluster.leaseMs` and `cluster.leaseRenewMs`, 10000 and 3000).
 * Bounded: every phase has a deadline; every process is stopped at the end.
 */
import { parseArgs } from 'node:util';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import pg from 'pg';
import { startLocalCluster, type LocalCluster } from '../../bin/cluster-local.ts';
import { leaseTimings } from '../../src/config/index.ts';
import { processCpuSeconds } from '../lib/cpu-usage.ts';
import { defaultTransportKinesisClient } from '../lib/kinesis-clients.ts';
import { describeMachine } from '../lib/machine.ts';
import { createRng } from '../lib/rng.ts';
import { formatCount, formatTable, round, sleep } from '../lib/stats.ts';
import { encodedTollTransactions } from '../lib/toll-payload.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    producers: { type: 'string', default: '6' },
    batch: { type: 'string', default: '500' },
    'lease-ms': { type: 'string', default: String(leaseTimings(undefined).leaseMs) },
    'renew-ms': { type: 'string', default: String(leaseTimings(undefined).leaseRenewMs) },
  },
});
const SECONDS = Number(flags.seconds);
const PRODUCERS = Number(flags.producers);
const BATCH = Number(flags.batch);
const LEASE_MS = Number(flags['lease-ms']);
const RENEW_MS = Number(flags['renew-ms']);
const rng = createRng(7);

interface Load {
  acknowledged: number;
  failed: number;
  stop(): Promise<void>;
}

/** Producers put batches round-robin over the gateways until stopped. */
function startLoad(urls: () => string[]): Load {
  const clients = new Map<string, KinesisClient>();
  const client = (url: string) => clients.get(url) ?? clients.set(url, defaultTransportKinesisClient(url, { maxAttempts: 1 })).get(url)!;
  let running = true;
  let turn = 0;
  const load: Load = { acknowledged: 0, failed: 0, stop: async () => undefined };
  const producer = async () => {
    while (running) {
      const targets = urls();
      const url = targets[turn++ % targets.length]!;
      const records = encodedTollTransactions(rng, BATCH).map((data, i) => ({ PartitionKey: `p${turn}-${i}`, Data: data }));
      try {
        const out = await client(url).send(new PutRecordsCommand({ StreamName: 'toll_transactions', Records: records }));
        load.acknowledged += BATCH - (out.FailedRecordCount ?? 0);
        load.failed += out.FailedRecordCount ?? 0;
      } catch {
        load.failed += BATCH;
        await sleep(100);
      }
    }
  };
  const running_ = Array.from({ length: PRODUCERS }, producer);
  load.stop = async () => {
    running = false;
    await Promise.all(running_);
    for (const c of clients.values()) c.destroy();
  };
  return load;
}

async function warehouseRows(db: pg.Client): Promise<number> {
  return Number((await db.query('SELECT count(*) AS n FROM toll_transactions')).rows[0].n);
}

function serverCpu(cluster: LocalCluster): number {
  return cluster.pids().reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}

interface Phase {
  readonly nodes: number;
  readonly putRate: number;
  readonly failed: number;
  readonly endToEndSeconds: number;
  readonly deliveredRate: number;
  readonly cpuUsPerToll: number;
  readonly serverCores: number;
  /** Transactions committed per second in the cluster's database while the load ran (warehouse, leases, the bench's own reads). */
  readonly commitsPerSecond: number;
  /** Rows inserted, updated or deleted per second in the lease tables while the load ran (heartbeats, renewals, moves). */
  readonly leaseWritesPerSecond: number;
}

/** PostgreSQL's counters of the cluster's database: commits, and rows written in the lease tables. */
async function databaseCounters(db: pg.Client): Promise<{ commits: number; leaseWrites: number }> {
  const commits = (await db.query('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0].n;
  const leases = (await db.query("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS n FROM pg_stat_user_tables WHERE schemaname = 'tollstream_leases'")).rows[0].n;
  return { commits: Number(commits), leaseWrites: Number(leases) };
}

async function throughput(nodes: number): Promise<Phase> {
  const cluster = await startLocalCluster({ nodes, leaseMs: LEASE_MS, leaseRenewMs: RENEW_MS });
  const db = new pg.Client({ connectionString: cluster.postgresUrl });
  await db.connect();
  try {
    // Warm-up: the nodes settle their leases and JIT before the measured window.
    const warm = startLoad(() => cluster.nodes.map((n) => n.url));
    await sleep(3000 + 2 * RENEW_MS);
    await warm.stop();
    const before = warm.acknowledged;
    const cpu0 = serverCpu(cluster);
    const counters0 = await databaseCounters(db);
    const t0 = performance.now();
    const load = startLoad(() => cluster.nodes.map((n) => n.url));
    await sleep(SECONDS * 1000);
    await load.stop();
    const putSeconds = (performance.now() - t0) / 1000;
    // Each server process reports its counters about once a second: close enough over the load's seconds.
    const counters1 = await databaseCounters(db);
    const deadline = Date.now() + 120_000;
    const want = before + load.acknowledged;
    while ((await warehouseRows(db)) < want && Date.now() < deadline) await sleep(100);
    const rows = await warehouseRows(db);
    const e2e = (performance.now() - t0) / 1000;
    const cpu = serverCpu(cluster) - cpu0;
    if (rows < want) console.log(`  (${nodes} node(s): the warehouse held ${rows} of ${want} tolls after 120 s of draining)`);
    return {
      nodes,
      putRate: load.acknowledged / putSeconds,
      failed: load.failed,
      endToEndSeconds: e2e,
      deliveredRate: (rows - before) / e2e,
      cpuUsPerToll: (cpu * 1e6) / Math.max(1, rows - before),
      serverCores: cpu / e2e,
      commitsPerSecond: (counters1.commits - counters0.commits) / putSeconds,
      leaseWritesPerSecond: (counters1.leaseWrites - counters0.leaseWrites) / putSeconds,
    };
  } finally {
    await db.end();
    await cluster.close();
  }
}

/** How far the warehouse holds each shard of `toll_transactions` (`_delivery_positions`). */
async function warehousePositions(db: pg.Client): Promise<Record<string, string>> {
  const rows = (await db.query<{ shard_id: string; sequence_number: string }>("SELECT shard_id, sequence_number FROM _delivery_positions WHERE stream = 'toll_transactions' AND table_name = 'toll_transactions'")).rows;
  return Object.fromEntries(rows.map((r) => [r.shard_id, r.sequence_number]));
}

async function takeover(): Promise<{ leasesMoved: number; firstRecordMs: number; takeoverMs: number; caughtUpMs: number; acknowledged: number; rows: number }> {
  const cluster = await startLocalCluster({ nodes: 3, leaseMs: LEASE_MS, leaseRenewMs: RENEW_MS });
  const db = new pg.Client({ connectionString: cluster.postgresUrl });
  await db.connect();
  const held = async (url: string): Promise<string[]> => {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { leases?: { held?: string[] } };
      // The warehouse delivery's leases (a node also holds some of the breach delivery's, the alert functions' and the queries').
      return (body.leases?.held ?? []).filter((key) => key.startsWith('delivery:warehouse:'));
    } catch {
      return [];
    }
  };
  try {
    const victim = cluster.nodes[2]!;
    const survivors = cluster.nodes.slice(0, 2);
    let deadline = Date.now() + 60_000;
    // Balanced: every node holds at least a third (rounded down) of all leases, the same in two rounds.
    let victimHeld: string[] = [];
    let balanced = 0;
    while (Date.now() < deadline && balanced < 2) {
      const all = await Promise.all(cluster.nodes.map((n) => held(n.url)));
      const total = all.flat().length;
      const even = total > 0 && all.every((h) => h.length >= Math.floor(total / all.length));
      balanced = even && all[2]!.join() === victimHeld.join() ? balanced + 1 : even ? 1 : 0;
      victimHeld = all[2]!;
      await sleep(RENEW_MS);
    }
    if (balanced < 2) throw new Error('the three nodes did not share the leases evenly within 60 s');
    let alive = cluster.nodes.map((n) => n.url);
    const load = startLoad(() => alive);
    await sleep(3000);
    alive = survivors.map((n) => n.url);
    await sleep(300); // let the puts in flight to the victim finish
    victim.process.kill('SIGKILL');
    await victim.process.exited;
    const killedAt = performance.now();
    const atKill = await warehousePositions(db);
    const orphanedShards = victimHeld.map((key) => key.split(':').pop()!);
    let takeoverMs = Number.NaN;
    let firstRecordMs = Number.NaN;
    deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (Number.isNaN(takeoverMs) || Number.isNaN(firstRecordMs))) {
      // The first record of the dead node's shards that reaches the warehouse: delivered by a new owner.
      if (Number.isNaN(firstRecordMs)) {
        const now = await warehousePositions(db);
        if (orphanedShards.some((s) => now[s] !== atKill[s])) firstRecordMs = performance.now() - killedAt;
      }
      if (Number.isNaN(takeoverMs)) {
        const now = (await Promise.all(survivors.map((n) => held(n.url)))).flat();
        if (victimHeld.every((k) => now.includes(k))) takeoverMs = performance.now() - killedAt;
      }
      await sleep(50);
    }
    await sleep(2000);
    await load.stop();
    deadline = Date.now() + 120_000;
    while ((await warehouseRows(db)) < load.acknowledged && Date.now() < deadline) await sleep(100);
    const caughtUpMs = performance.now() - killedAt;
    return { leasesMoved: victimHeld.length, firstRecordMs, takeoverMs, caughtUpMs, acknowledged: load.acknowledged, rows: await warehouseRows(db) };
  } finally {
    await db.end();
    await cluster.close();
  }
}

const machine = describeMachine();
console.log(`bench:cluster on ${machine.cpuCount} x ${machine.cpuModel}, load average ${machine.loadAverage.join(' ')}; ${SECONDS} s of load per phase, ${PRODUCERS} producers x ${BATCH} tolls per PutRecords; leases ${LEASE_MS}/${RENEW_MS} ms`);
const one = await throughput(1);
const three = await throughput(3);
console.log(
  formatTable(
    ['nodes', 'puts acked/s', 'failed', 'end to end s', 'delivered/s', 'server CPU us/toll', 'server cores', 'PG commits/s', 'lease writes/s'],
    [one, three].map((p) => [
      String(p.nodes),
      formatCount(Math.round(p.putRate)),
      String(p.failed),
      String(round(p.endToEndSeconds, 1)),
      formatCount(Math.round(p.deliveredRate)),
      String(Math.round(p.cpuUsPerToll)),
      String(round(p.serverCores, 2)),
      String(Math.round(p.commitsPerSecond)),
      String(round(p.leaseWritesPerSecond, 1)),
    ]),
  ),
);
console.log(
  `ratios 3 nodes / 1 node: put rate x${round(three.putRate / one.putRate, 2)}, delivered rate x${round(three.deliveredRate / one.deliveredRate, 2)}, CPU per toll x${round(three.cpuUsPerToll / one.cpuUsPerToll, 2)}`,
);
const t = await takeover();
console.log(
  formatTable(
    ['kill -9 of node-3', 'leases moved', 'first record by a new owner after ms', 'survivors hold them after ms', 'warehouse has every acked toll after ms', 'acked', 'rows'],
    [['', String(t.leasesMoved), String(Math.round(t.firstRecordMs)), String(Math.round(t.takeoverMs)), String(Math.round(t.caughtUpMs)), String(t.acknowledged), String(t.rows)]],
  ),
);
console.log(
  [
    `What this machine can show: ${machine.cpuCount} cores run every node, all three nats-servers, PostgreSQL and the load generator, so`,
    'three nodes here share the same cores as one node: the put rate cannot rise with nodes, and the ratio above measures the',
    'cost of the extra processes (more routes, lease rounds, three gateways) rather than scaling. It does show that a kill -9',
    'moves the delivery leases within leaseMs plus about one round, and that no acknowledged toll is lost on the way.',
    'It cannot show the throughput of separate machines: that needs one core set (and disk) per node and per nats-server.',
  ].join('\n'),
);
