/**
 * The whole pipeline on a cluster, through its failures: three `tollstream up` nodes started as
 * `npm run cluster:local` starts them (docs/cluster.md: node-1 runs the ABC Tolls functions and the alerts;
 * every node serves the gateway and its share of the warehouse delivery and of the continuous queries) on a
 * 3-server JetStream cluster and a PostgreSQL database of its own. Customers with thresholds are created through
 * the customer API; simulator toll traffic goes through the AWS SDK Kinesis client (its default HTTP/2 transport),
 * each request to the next of the three gateways. During the traffic node-3 (or node-2, if only node-2 runs a
 * continuous query) is killed with kill -9, later one nats-server (a minority) too, and later both are started
 * again.
 *
 * At the end every acknowledged toll is in the warehouse exactly once and in order (per shard as the log holds
 * it, per customer as the producer had it acknowledged), each customer's month total equals the oracle's, each
 * breach the oracle predicts is in the customer's inbox exactly once (and once in `threshold_breaches`), and
 * the dead node's warehouse shards and continuous queries were taken over by the others. Prints the time from the kill to the first
 * record of those shards delivered by their new owner (the target is 15 s, with the default lease timings).
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient, type PutRecordsCommand } from '@aws-sdk/client-kinesis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultTransportKinesisClient } from '../../bench/lib/kinesis-clients.ts';
import { sleep } from '../../bench/lib/stats.ts';
import { startLocalCluster, type LocalCluster } from '../../bin/cluster-local.ts';
import { leaseTimings } from '../../src/config/index.ts';
import { SpendOracle, TrafficGenerator, type TollTransaction } from '../../src/simulator/index.ts';
import { openPostgresWarehouse } from '../../src/warehouse/index.ts';
import { createCustomers, inboxOf, inboxVersusOracle, planAlertTraffic, putUntilAcknowledged, waitForTotals } from '../alerts/support.ts';
import { eventually } from '../delivery/helpers.ts';
import { postgresUrl } from '../postgres/server.ts';
import { verifyDelivered } from './verify.ts';

const STREAM = 'toll_transactions';
/** The lease timings of docs/configuration.md, which the takeover target (15 s) is for. */
const { leaseMs: LEASE_MS, leaseRenewMs: RENEW_MS } = leaseTimings(undefined);
/** Producers, each with its own customers (so each customer's tolls are sent, and acknowledged, in one order). */
const PRODUCERS = 3;
const BATCH = 200;
/** Records per second over all producers, at most; the traffic stops once the failures are over. */
const RATE = 900;
/** Records the thresholds are planned over (planted spends that cross them among the first of these)... */
const RECORDS = 60_000;
/** ...and records the producers have at most: ordinary traffic goes on past RECORDS while restarts are slow. */
const TRAFFIC_CAP = 150_000;
/** The node killed: node-2 or node-3 (node-1 runs the alerts), the one running a continuous query if one does. */
let VICTIM = 2;
const NATS_VICTIM = 1;
const WAREHOUSE_LEASE = `delivery:warehouse:${STREAM}:`;

/** The leases under `prefix` the node at `url` holds, without the prefix, from its /health; [] when it does not answer. */
async function heldLeases(url: string, prefix: string): Promise<string[]> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { leases?: { held?: string[] } };
    return (body.leases?.held ?? []).filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length)).sort();
  } catch {
    return [];
  }
}

/** The warehouse delivery's shards whose lease the node holds. */
const heldShards = (url: string) => heldLeases(url, WAREHOUSE_LEASE);
/** The continuous queries whose lease (`query:<name>`) the node holds, by name. */
const heldQueries = (url: string) => heldLeases(url, 'query:');

/** Per shard, the transaction ids in the order the log holds them, read through the Kinesis API. */
async function logOrder(client: KinesisClient): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const shards = (await client.send(new ListShardsCommand({ StreamName: STREAM }))).Shards ?? [];
  for (const shard of shards) {
    const ids: string[] = [];
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: STREAM, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const got = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of got.Records ?? []) ids.push((JSON.parse(Buffer.from(r.Data!).toString()) as { transaction_id: string }).transaction_id);
      if ((got.Records ?? []).length === 0 && got.MillisBehindLatest === 0) break;
      iterator = got.NextShardIterator;
    }
    out.set(shard.ShardId!, ids);
  }
  return out;
}

/**
 * Starts node `i` again as its systemd unit would (deploy/systemd/tollstream-cluster-node.service:
 * Restart=on-failure, RestartSec=2), up to 5 starts; returns the last stderr line of each start that failed.
 */
async function restartLikeSystemd(cluster: LocalCluster, i: number): Promise<string[]> {
  const failed: string[] = [];
  for (;;) {
    try {
      await cluster.restartNode(i);
      return failed;
    } catch (err) {
      failed.push((err as Error).message.trim().split('\n').pop() ?? '');
      process.stderr.write(`pipeline failover: a start failed: ${(err as Error).message.slice(-3000)}\n`);
      if (failed.length >= 5) throw err;
      await sleep(2000);
    }
  }
}

describe('the ABC Tolls pipeline on three nodes, through kill -9 of a node and of a nats-server', () => {
  let cluster: LocalCluster | undefined;
  const clients: KinesisClient[] = [];
  const closers: Array<() => Promise<unknown>> = [];

  afterAll(async () => {
    for (const c of clients) c.destroy();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await cluster?.close();
  }, 60_000);

  it('keeps every acknowledged toll once and in order, every total and every breach notification, and moves the dead node\'s shards', { timeout: 240_000 }, async () => {
    const t0 = performance.now();
    const phase = (what: string) => process.stderr.write(`pipeline failover: ${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    cluster = await startLocalCluster({ leaseMs: LEASE_MS, leaseRenewMs: RENEW_MS, postgresServerUrl: postgresUrl() });
    const nodes = cluster.nodes;
    phase('cluster up');
    const db = new pg.Client({ connectionString: cluster.postgresUrl });
    await db.connect();
    closers.push(() => db.end());
    const positions = async (): Promise<Record<string, string>> =>
      Object.fromEntries((await db.query<{ shard_id: string; sequence_number: string }>('SELECT shard_id, sequence_number FROM _delivery_positions WHERE stream = $1 AND table_name = $1', [STREAM])).rows.map((r) => [r.shard_id, r.sequence_number]));

    // The customers and their thresholds, through the customer API of node-1 (the node that runs the alerts).
    const plan = planAlertTraffic({ seed: 23, customers: 36, records: RECORDS, startTime: Date.now() - 150_000, eventsPerSecond: 1_000, planted: 24, crossedByTraffic: 6 });
    const tokens = await createCustomers(nodes[0]!.url, plan.thresholds);
    phase('customers created');
    const generator = new TrafficGenerator(plan.generatorOptions);
    const queues: TollTransaction[][] = Array.from({ length: PRODUCERS }, () => []);
    for (let i = 0; i < TRAFFIC_CAP; i++) {
      const tx = generator.next().transaction;
      queues[Number(tx.customer_id.slice(1)) % PRODUCERS]!.push(tx);
    }

    // Each node holds some of the 6 warehouse shards (the continuous queries' leases are shared out with them).
    await eventually('each node to hold a warehouse shard', async () => (await Promise.all(nodes.map((n) => heldShards(n.url)))).every((h) => h.length >= 1), 60_000);

    phase('leases balanced');
    // Producers: each request goes to the next gateway; a request that fails as a whole goes again, to the next one.
    for (const n of nodes) clients.push(defaultTransportKinesisClient(n.url, { requestTimeoutMs: 5_000 }));
    let turn = 0;
    const rotating = { send: (command: PutRecordsCommand) => clients[turn++ % clients.length]!.send(command) };
    const oracle = new SpendOracle(plan.thresholds);
    const sent = new Set<string>();
    const acknowledged = new Set<string>();
    const keyOrder = new Map<string, string[]>();
    const onStored = (records: readonly TollTransaction[]) => {
      for (const tx of records) {
        oracle.add(tx);
        if (acknowledged.has(tx.transaction_id)) continue;
        acknowledged.add(tx.transaction_id);
        (keyOrder.get(tx.customer_id) ?? keyOrder.set(tx.customer_id, []).get(tx.customer_id)!).push(tx.transaction_id);
      }
    };
    const stats = { failedRequests: 0, recordRetries: 0 };
    let stopTraffic = false;
    let exhausted = false;
    const producers = Promise.all(
      queues.map(async (queue) => {
        for (let at = 0; !stopTraffic; at += BATCH) {
          if (at >= queue.length) {
            exhausted = true;
            return;
          }
          const batch = queue.slice(at, at + BATCH);
          for (const tx of batch) sent.add(tx.transaction_id);
          const started = performance.now();
          const outcome = await putUntilAcknowledged(rotating, STREAM, batch, onStored, 90_000);
          stats.failedRequests += outcome.failedRequests;
          stats.recordRetries += outcome.recordRetries;
          await sleep(Math.max(0, (batch.length * PRODUCERS * 1000) / RATE - (performance.now() - started)));
        }
      }),
    );

    await eventually('rows from the traffic in the warehouse', async () => Number((await db.query('SELECT count(*) AS n FROM toll_transactions')).rows[0].n) > 1000, 60_000);

    phase('traffic flowing');
    // kill -9 of the victim while the traffic flows.
    const queriesOn = await Promise.all(nodes.map((n) => heldQueries(n.url)));
    if (queriesOn[2]!.length === 0 && queriesOn[1]!.length > 0) VICTIM = 1;
    const victim = nodes[VICTIM]!;
    const orphaned = await heldShards(victim.url);
    const orphanedQueries = await heldQueries(victim.url);
    // Two, unless a lease moved under the load since (a node that misses its renewals loses them).
    expect(orphaned.length).toBeGreaterThan(0);
    victim.process.kill('SIGKILL');
    await victim.process.exited;
    const killedAt = performance.now();
    const atKill = await positions();
    let takeoverMs: number | undefined;
    await eventually(
      'a new owner to deliver a record of the dead node\'s shards',
      async () => {
        const now = await positions();
        if (orphaned.some((s) => now[s] !== atKill[s])) takeoverMs ??= performance.now() - killedAt;
        return takeoverMs !== undefined;
      },
      60_000,
    );
    phase('first record by a new owner');
    const survivors = nodes.filter((_, i) => i !== VICTIM);
    let takenBy: string[] = [];
    await eventually(
      'the survivors to hold the dead node\'s shards',
      async () => {
        const held = await Promise.all(survivors.map((n) => heldShards(n.url)));
        takenBy = orphaned.map((s) => survivors[held.findIndex((h) => h.includes(s))]?.name ?? 'nobody');
        return !takenBy.includes('nobody');
      },
      30_000,
    );

    // The continuous queries the dead node ran go on elsewhere (their state and checkpoints are in PostgreSQL).
    await eventually(
      'the survivors to run the dead node\'s continuous queries',
      async () => {
        const held = (await Promise.all(survivors.map((n) => heldQueries(n.url)))).flat();
        return orphanedQueries.every((q) => held.includes(q));
      },
      30_000,
    );

    // kill -9 of one nats-server of three, while the victim is still down.
    await sleep(2000);
    await cluster.nats.stop(NATS_VICTIM, 'SIGKILL');
    phase('nats-server killed');
    const natsKilledAt = performance.now();
    const ackedAtNatsKill = acknowledged.size;
    // Writes go on with two servers of three: the time until 1000 more tolls were acknowledged, then at least 6 s down.
    await eventually('1000 tolls acknowledged with a nats-server down', () => acknowledged.size - ackedAtNatsKill >= 1000, 60_000);
    const thousandMs = performance.now() - natsKilledAt;
    await sleep(Math.max(0, 6000 - thousandMs));
    const natsDownMs = performance.now() - natsKilledAt;
    const ackedWithNatsDown = acknowledged.size - ackedAtNatsKill;

    // Both back: the nats-server over its store, the victim over its data directory and config.
    await cluster.nats.start(NATS_VICTIM);
    phase('nats-server restarted');
    const failedStarts = await restartLikeSystemd(cluster, VICTIM);
    phase('node restarted');
    // Traffic goes on until the restarted node took a share of the warehouse shards again and a few thousand
    // more tolls were acknowledged.
    const restartedAt = acknowledged.size;
    await eventually(`${victim.name} to take warehouse shards again`, async () => (await heldShards(nodes[VICTIM]!.url)).length > 0, 60_000);
    await eventually('more tolls acknowledged after the restarts', () => acknowledged.size - restartedAt >= 3000 || exhausted, 60_000);
    stopTraffic = true;
    await producers;
    expect(exhausted, 'the planned traffic ran out before the failures were over').toBe(false);
    const ackedAfterRestart = acknowledged.size - restartedAt;

    phase('traffic sent');
    // Drained: every acknowledged toll in the warehouse, every total on node-1, no notification left in its outbox.
    await eventually(`${acknowledged.size} tolls in the warehouse`, async () => Number((await db.query('SELECT count(*) AS n FROM toll_transactions')).rows[0].n) >= acknowledged.size, 90_000);
    await waitForTotals(nodes[0]!.url, tokens, (id, month) => oracle.total(id, month), 90_000);
    phase('drained');
    await sleep(1500); // anything still in flight lands before the judgement

    const warehouse = await openPostgresWarehouse({ connectionString: cluster.postgresUrl });
    closers.push(() => warehouse.close());
    const inLog = await logOrder(clients[1]!);
    const verdict = await verifyDelivered(warehouse, { acknowledged, sent, logOrder: inLog, keyOrder });
    console.log(
      `pipeline failover: kill -9 of ${victim.name} (warehouse shards ${orphaned.join(', ')}, taken by ${takenBy.join(', ')}; queries ${orphanedQueries.join(', ') || 'none'}, taken over) -> ` +
        `first record delivered by a new owner after ${Math.round(takeoverMs!)} ms (lease ${LEASE_MS} ms, renew ${RENEW_MS} ms); ` +
        `nats-server ${cluster.nats.servers[NATS_VICTIM]!.name} down for ${(natsDownMs / 1000).toFixed(1)} s: ${ackedWithNatsDown} tolls acknowledged, the first 1000 after ${Math.round(thousandMs)} ms; ` +
        `${ackedAfterRestart} acknowledged after the restarts; ` +
        `${failedStarts.length} failed start(s) of ${victim.name} before it ran again${failedStarts.length > 0 ? ` (${failedStarts.join(' | ')})` : ''}; ` +
        `${acknowledged.size} tolls acknowledged (${stats.failedRequests} requests sent again, ${stats.recordRetries} records retried), ${verdict.rows} rows, ` +
        `${verdict.lost.length} lost, ${verdict.doubled.length} doubled, ${verdict.reordered.length} reordered; ${oracle.breachList.length} breaches predicted`,
    );
    expect(verdict).toMatchObject({ lost: [], doubled: [], unknown: [], reordered: [] });
    expect(verdict.rows).toBe(acknowledged.size);

    // Every breach once in its customer's inbox (node-1's, where the app keeps them) and once in the warehouse.
    expect(oracle.breachList.length).toBeGreaterThanOrEqual(5);
    for (const [customerId, token] of tokens) {
      const inbox = await inboxOf(nodes[0]!.url, token);
      const { got, want } = inboxVersusOracle(inbox, oracle.breachList.filter((b) => b.customerId === customerId), (month) => oracle.total(customerId, month));
      expect(got, `inbox of ${customerId}`).toEqual(want);
    }
    await eventually('every breach in threshold_breaches', async () => Number((await db.query('SELECT count(*) AS n FROM threshold_breaches')).rows[0].n) >= oracle.breachList.length, 30_000);
    const breaches = (await db.query<{ breach_id: string; n: string }>('SELECT breach_id, count(*) AS n FROM threshold_breaches GROUP BY breach_id ORDER BY breach_id')).rows.map((r) => [r.breach_id, Number(r.n)]);
    expect(breaches).toEqual(oracle.breachList.map((b) => [`breach:${b.customerId}:${b.month}:${b.thresholdCents}`, 1]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));

    // The verifier reads these very rows right: damaged here (one row deleted, one doubled, two neighbours of a
    // shard trading sequence numbers) it names each.
    const ids = [...inLog.values()].find((list) => list.length >= 10)!;
    const [lostId, doubledId, a, b] = [ids[0]!, ids[1]!, ids[5]!, ids[6]!];
    await db.query('DELETE FROM toll_transactions WHERE transaction_id = $1', [lostId]);
    await db.query('INSERT INTO toll_transactions SELECT * FROM toll_transactions WHERE transaction_id = $1', [doubledId]);
    await db.query(
      `UPDATE toll_transactions SET sequence_number = CASE transaction_id
         WHEN $1 THEN (SELECT sequence_number FROM toll_transactions WHERE transaction_id = $2)
         ELSE (SELECT sequence_number FROM toll_transactions WHERE transaction_id = $1) END
       WHERE transaction_id IN ($1, $2)`,
      [a, b],
    );
    const damaged = await verifyDelivered(warehouse, { acknowledged, sent, logOrder: inLog, keyOrder });
    expect(damaged).toMatchObject({ lost: [lostId], doubled: [doubledId], unknown: [] });
    expect(damaged.reordered.length).toBeGreaterThan(0);
    expect(damaged.reordered.every((id) => id === a || id === b)).toBe(true);
  });
});
