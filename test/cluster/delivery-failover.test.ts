/**
 * Warehouse delivery shared by three node processes through leases, on the JetStream log (3 nats-servers) into
 * PostgreSQL: tolls keep arriving while one node is killed with kill -9; its shards are taken over once its
 * leases expire, and every acknowledged toll is in the warehouse exactly once. The verifier is shown to catch a
 * lost and a doubled row. Prints the time from the kill to the first record the new owners delivered.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJetStreamLog, type JetStreamStreamLog } from '../../src/log/index.ts';
import type { Warehouse } from '../../src/warehouse/index.ts';
import { eventually, transactions } from '../delivery/helpers.ts';
import { postgresSchema, type PostgresSchema } from '../postgres/server.ts';
import { startNatsCluster, type NatsCluster } from '../../bin/nats-cluster.ts';
import { produceTolls, startNodeProcess, type NodeChild } from './node-process.ts';
import { verifyDelivered } from './verify.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';

const NODE = fileURLToPath(new URL('delivery-node.ts', import.meta.url));
const STREAM = 'toll_transactions';
const SHARDS = 6;
const LEASE_MS = 3000;
const RENEW_MS = 1000;

describe('warehouse delivery on three nodes, one killed with kill -9', () => {
  let cluster: NatsCluster;
  let warehousePlace: PostgresSchema;
  let leasePlace: PostgresSchema;
  let warehouse: Warehouse;
  let log: JetStreamStreamLog;
  const nodes: NodeChild[] = [];
  const sent = new Set<string>();
  const acknowledged = new Set<string>();

  beforeAll(async () => {
    cluster = await startNatsCluster();
    warehousePlace = postgresSchema('failover_wh');
    leasePlace = postgresSchema('failover_leases');
    warehouse = await warehousePlace.open();
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    const prefix = `df${crypto.randomBytes(4).toString('hex')}`;
    log = await openJetStreamLog({ servers: cluster.urls, prefix, replicas: 3, requestTimeoutMs: 20_000 });
    await log.createStream(STREAM, { shardCount: SHARDS, dedupe: { mode: 'field', field: 'transaction_id' } });
    const config = (name: string) => ({ natsUrls: cluster.urls, prefix, postgresUrl: warehousePlace.url, warehouseSchema: warehousePlace.schema, leaseSchema: leasePlace.schema, node: name, leaseMs: LEASE_MS, renewMs: RENEW_MS });
    for (const name of ['node-1', 'node-2', 'node-3']) nodes.push(await startNodeProcess(NODE, name, JSON.stringify(config(name))));
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes) n.child.kill('SIGKILL');
    await log?.close().catch(() => undefined);
    await warehouse?.close();
    await warehousePlace?.cleanup();
    await leasePlace?.cleanup();
    await cluster?.close();
  });

  it('delivers every acknowledged toll exactly once, and the killed node\'s shards are taken over', async () => {
    await eventually('the three nodes to share the six leases', () => nodes.every((n) => n.held.length === 2), 60_000);
    const tolls = transactions(60_000, 11);
    const producer = produceTolls(log, STREAM, tolls, { sent, acknowledged });
    const rows = async () => Number((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows[0]![0]);
    await eventually('rows from the traffic', async () => (await rows()) > 1000, 60_000);

    const victim = nodes[1]!;
    const orphaned = [...victim.held];
    const exited = new Promise((resolve) => victim.child.once('exit', resolve));
    victim.child.kill('SIGKILL');
    await exited;
    const killedAt = performance.now();
    const atKill = await warehouse.positions(STREAM, 'toll_transactions');
    let firstDeliveredMs: number | undefined;
    await eventually(
      'a new owner to deliver a record of the killed node\'s shards',
      async () => {
        const now = await warehouse.positions(STREAM, 'toll_transactions');
        if (orphaned.some((s) => now[s] !== atKill[s])) firstDeliveredMs ??= performance.now() - killedAt;
        return firstDeliveredMs !== undefined;
      },
      60_000,
    );
    const survivors = nodes.filter((n) => n !== victim);
    await eventually('the survivors to hold all six leases', () => survivors.reduce((s, n) => s + n.held.length, 0) === SHARDS, 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    await producer.stop();
    await eventually(`all ${acknowledged.size} acknowledged tolls in the warehouse`, async () => (await rows()) >= acknowledged.size, 120_000);
    // Let anything still in flight land, then judge.
    await new Promise((r) => setTimeout(r, 1500));
    const verdict = await verifyDelivered(warehouse, { acknowledged, sent });
    console.log(
      `delivery failover: kill -9 of ${victim.name} (shards ${orphaned.join(', ')}) -> first record delivered by a new owner after ${Math.round(firstDeliveredMs!)} ms ` +
        `(lease ${LEASE_MS} ms, renew ${RENEW_MS} ms); ${acknowledged.size} tolls acknowledged, ${verdict.rows} rows, ${verdict.lost.length} lost, ${verdict.doubled.length} doubled`,
    );
    expect(verdict).toMatchObject({ lost: [], doubled: [], unknown: [] });
    // Unacknowledged appends (none when the log stayed up) may land too, once each.
    expect(verdict.rows).toBeGreaterThanOrEqual(acknowledged.size);
    expect(verdict.rows).toBeLessThanOrEqual(sent.size);
    expect(survivors.flatMap((n) => n.held).sort()).toEqual(expect.arrayContaining(orphaned));

    // The verifier catches a lost and a doubled row.
    const [lostId, doubledId] = [...acknowledged].slice(0, 2);
    await warehousePlace.admin(`DELETE FROM "${warehousePlace.schema}".toll_transactions WHERE transaction_id = $1`, [lostId]);
    await warehousePlace.admin(`INSERT INTO "${warehousePlace.schema}".toll_transactions SELECT * FROM "${warehousePlace.schema}".toll_transactions WHERE transaction_id = $1`, [doubledId]);
    const damaged = await verifyDelivered(warehouse, { acknowledged, sent });
    expect(damaged.lost).toEqual([lostId]);
    expect(damaged.doubled).toEqual([doubledId]);
  });
});
