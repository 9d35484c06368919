/**
 * Sending a batch a deployed function gave up on again, on a cluster (`startServer` with a `cluster` section:
 * JetStream on 3 `nats-server`, PostgreSQL in a database of the test's own). Both nodes run the function and list
 * its dead letters, but only the node holding the lease of the batch's shard sends it again: the other answers 409
 * LEASE_NOT_HELD naming the holder, so two nodes asked at once never both run it, and the batch has one effect.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import { bundleHandler } from '../../src/functions/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { startClusterNodes, type ClusterNodes } from '../support/cluster-nodes.ts';
import { waitFor } from '../support/wait.ts';

const HANDLER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'breaker-count.ts');
const STREAM = 'payments';
const LEASE = `function:charge:${STREAM}:shardId-000000000000`;
/** The cluster's changes reach the other node through PostgreSQL and lease rounds: up to a minute under load. */
const WAIT = { timeoutMs: 60_000, intervalMs: 200 };

interface Answer {
  status: number;
  json: { error?: { code: string; message: string; context?: Record<string, unknown> }; [k: string]: unknown };
}

async function call(server: RunningServer, method: string, route: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${server.url}${route}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Answer['json']) };
}

async function holdsLease(server: RunningServer): Promise<boolean> {
  const health = (await (await fetch(`${server.url}/health`)).json()) as { leases?: { held: string[] } };
  return health.leases?.held.includes(LEASE) ?? false;
}

interface DeadBatch {
  mapping: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
}

async function deadBatches(server: RunningServer): Promise<DeadBatch[]> {
  return ((await call(server, 'GET', '/v1/dead-letters')).json as { functionDeadLetters: DeadBatch[] }).functionDeadLetters;
}

describe('sending a given-up batch of a function again on a cluster', () => {
  let cluster: ClusterNodes;
  let dir: string;
  beforeAll(async () => {
    cluster = await startClusterNodes('fnredrive');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-redrive-cluster-'));
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const node = (name: string) => cluster.node(name, { ...spendAlertsConfig({ enabled: false }), queries: { ...DEFAULT_CONFIG.queries, enabled: false } });

  it('runs only on the node holding the shard\'s lease; the other answers LEASE_NOT_HELD naming it, and the batch has one effect', { timeout: 300_000 }, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    await a.log.createStream(STREAM, { shardCount: 1 });
    await a.log.createStream(`${STREAM}_failed`, { shardCount: 1 });
    const breaker = path.join(dir, 'payment-service-down');
    fs.writeFileSync(breaker, '');
    const deployed = await call(a, 'POST', '/v1/functions', {
      name: 'charge',
      stream: STREAM,
      code: await bundleHandler(HANDLER),
      settings: { startingPosition: 'TRIM_HORIZON', maximumRetryAttempts: 0, onFailure: { stream: `${STREAM}_failed` } },
    });
    expect(deployed.status).toBe(201);
    await waitFor('one node to hold the shard\'s lease', async () => (await holdsLease(a)) !== (await holdsLease(b)), WAIT);
    const [holder, other] = (await holdsLease(a)) ? [a, b] : [b, a];
    const holderName = holder === a ? 'node-a' : 'node-b';

    const ids = ['p1', 'p2', 'p3'];
    const put = await a.log.append(STREAM, ids.map((id) => ({ partitionKey: 'customer-1', data: Buffer.from(JSON.stringify({ id, breaker })) })));
    expect(put.every((r) => r.ok)).toBe(true);
    // Both nodes run the function, so both list the batch it gave up on.
    await waitFor('the given-up batch listed on both nodes', async () => (await deadBatches(a)).length === 1 && (await deadBatches(b)).length === 1, WAIT);
    const [dead] = await deadBatches(other);
    const redrive = `/v1/dead-letters/mappings/charge/${dead!.shardId}/${dead!.startSequenceNumber}-${dead!.endSequenceNumber}/redrive`;
    fs.rmSync(breaker);

    // Asked of both at once: the node without the lease refuses and names the one with it.
    const [fromOther, fromHolder] = await Promise.all([call(other, 'POST', redrive), call(holder, 'POST', redrive)]);
    expect(fromOther.status).toBe(409);
    expect(fromOther.json.error).toMatchObject({ code: 'LEASE_NOT_HELD', context: { mapping: 'charge', shardId: dead!.shardId, owner: holderName } });
    expect(fromOther.json.error!.message).toContain(`send the request to node '${holderName}'`);
    expect(fromHolder).toMatchObject({ status: 200, json: { redriven: { mapping: 'charge', records: 3 } } });

    // Sent again through the holder: refused, it was done. Through the other: still not its to run.
    expect((await call(holder, 'POST', redrive)).json.error).toMatchObject({ code: 'CONDITION_FAILED' });
    expect((await call(other, 'POST', redrive)).status).toBe(409);
    const effects = await call(other, 'GET', '/v1/tables/effects/scan?limit=100');
    const counts = Object.fromEntries((effects.json as unknown as { items: { pk: string; value: { count: number } }[] }).items.map((i) => [i.pk, i.value.count]));
    expect(counts).toEqual({ p1: 1, p2: 1, p3: 1 });
    await waitFor('the batch to leave both lists', async () => (await deadBatches(a)).length === 0 && (await deadBatches(b)).length === 0, WAIT);
  });
});
