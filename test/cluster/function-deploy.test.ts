/**
 * Deploying a function through the HTTP API of one cluster node, as the server starts nodes (`startServer` with a
 * `cluster` section: JetStream on 3 `nats-server`, PostgreSQL in a database of the test's own). The definition is
 * stored in PostgreSQL, so the other node runs it too and the two split the stream's shards; an update, a pause
 * and a resume through either node reach both; a delete through the other (with `tollstream functions delete`) stops the function on both and removes its shared checkpoints; the
 * name can then be deployed anew. Every record is counted once, read through the other node's tables API.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import { bundleHandler } from '../../src/functions/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { SHARED_FUNCTIONS_SCHEMA } from '../../src/server/functions.ts';
import { runCli } from '../cli/helpers.ts';
import { startClusterNodes, type ClusterNodes } from '../support/cluster-nodes.ts';
import { waitFor } from '../support/wait.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

const HANDLER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'count-by-id.ts');
const STREAM = 'events';

interface FunctionInfo {
  name: string;
  state: string;
  version: number;
}

/** The cluster's changes reach the other node through PostgreSQL and lease rounds: up to a minute under load. */
const WAIT = { timeoutMs: 60_000, intervalMs: 200 };

async function call(server: RunningServer, method: string, route: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}${route}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

async function describeOn(server: RunningServer, name: string): Promise<FunctionInfo | undefined> {
  const { status, json } = await call(server, 'GET', `/v1/functions/${name}`);
  return status === 200 ? (json as FunctionInfo) : undefined;
}

/** The function's shard leases the node holds, from /health. */
async function heldShards(server: RunningServer): Promise<string[]> {
  const health = (await (await fetch(`${server.url}/health`)).json()) as { leases?: { held: string[] } };
  return (health.leases?.held ?? []).filter((k) => k.startsWith(`function:count:${STREAM}:`));
}

/** Every count in `effects`, read through a node's tables API. */
async function counts(server: RunningServer): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const { status, json } = await call(server, 'GET', `/v1/tables/effects/scan?limit=1000${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    if (status === 404) return out;
    expect(status).toBe(200);
    const page = json as { items: { pk: string; value: { count: number } }[]; cursor?: string };
    for (const item of page.items) out.set(item.pk, item.value.count);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

describe('deploying a function through any node of a cluster', () => {
  let cluster: ClusterNodes;
  beforeAll(async () => {
    cluster = await startClusterNodes('fndeploy');
  }, 120_000);
  afterAll(() => cluster?.close());

  const node = (name: string) =>
    cluster.node(name, { ...spendAlertsConfig({ enabled: false }), queries: { ...DEFAULT_CONFIG.queries, enabled: false } });

  async function sharedRows(sql: string, values: unknown[] = []): Promise<number> {
    const client = new pg.Client({ connectionString: cluster.databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql, values)).rowCount ?? 0;
    } finally {
      await client.end();
    }
  }

  it('runs on both nodes, counts each record once, follows an update, a pause, a resume and a delete made through either node', { timeout: 300_000 }, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    await a.log.createStream(STREAM, { shardCount: 2 });
    const put = async (ids: string[]) => {
      const results = await a.log.append(STREAM, ids.map((id) => ({ partitionKey: id, data: Buffer.from(JSON.stringify({ id })) })));
      expect(results.every((r) => r.ok)).toBe(true);
    };
    const code = await bundleHandler(HANDLER);
    const deployed = await call(a, 'POST', '/v1/functions', { name: 'count', stream: STREAM, code, settings: { startingPosition: 'TRIM_HORIZON', batchSize: 50 } });
    // From the answer of the node that took the change to the other node running it (its worker thread loaded).
    let changedAt = performance.now();
    expect(deployed).toMatchObject({ status: 201, json: { name: 'count', version: 1 } });

    // Node b reads the definition from PostgreSQL and takes its share of the shards.
    await waitFor('node b to run the function', async () => (await describeOn(b, 'count'))?.state === 'running', WAIT);
    const pickedUp = { deploy: performance.now() - changedAt, update: 0, delete: 0 };
    await waitFor('each node to hold one shard of the function', async () => (await heldShards(a)).length === 1 && (await heldShards(b)).length === 1, WAIT);
    const first = Array.from({ length: 200 }, (_, i) => `r${i}`);
    await put(first);
    await waitFor('node b\'s tables API to show every record counted', async () => (await counts(b)).size === first.length, WAIT);
    expect([...(await counts(b)).values()].every((c) => c === 1)).toBe(true);

    // An update through node b: both nodes move to version 2 at their shards' checkpoints.
    const updated = await call(b, 'PATCH', '/v1/functions/count', { settings: { batchSize: 20 } });
    changedAt = performance.now();
    expect(updated).toMatchObject({ status: 200, json: { version: 2 } });
    await waitFor('node a to run version 2', async () => (await describeOn(a, 'count'))?.version === 2, WAIT);
    pickedUp.update = performance.now() - changedAt;
    const second = Array.from({ length: 200 }, (_, i) => `s${i}`);
    await put(second);
    await waitFor('the records after the update counted', async () => (await counts(a)).size === first.length + second.length, WAIT);
    expect([...(await counts(a)).values()].every((c) => c === 1)).toBe(true);
    // Its checkpoints (per shard and per lane) are in the shared tables.
    expect(await sharedRows(`SELECT 1 FROM ${SHARED_FUNCTIONS_SCHEMA}.ts_checkpoints WHERE consumer = 'function:count'`)).toBeGreaterThan(0);

    // Paused through node a, resumed through node b: both nodes follow.
    expect(await call(a, 'POST', '/v1/functions/count/pause')).toMatchObject({ status: 200, json: { state: 'paused' } });
    await waitFor('node b to pause it', async () => (await describeOn(b, 'count'))?.state === 'paused', WAIT);
    const third = Array.from({ length: 50 }, (_, i) => `u${i}`);
    await put(third);
    expect(await call(b, 'POST', '/v1/functions/count/resume')).toMatchObject({ status: 200, json: { state: 'running' } });
    await waitFor('node a to run it again', async () => (await describeOn(a, 'count'))?.state === 'running', WAIT);
    await waitFor('the records put while it was paused counted', async () => (await counts(b)).size === first.length + second.length + third.length, WAIT);

    // A delete through node b stops the function on node a, and its checkpoints go once neither runs it.
    // Through the command, as a user would.
    const deleted = await runCli(['functions', 'delete', 'count', '--endpoint', b.url]);
    expect(deleted).toMatchObject({ code: 0 });
    changedAt = performance.now();
    await waitFor('node a to forget the function', async () => (await describeOn(a, 'count')) === undefined, WAIT);
    pickedUp.delete = performance.now() - changedAt;
    console.log(`seen by the other node after: deploy ${Math.round(pickedUp.deploy)} ms, update ${Math.round(pickedUp.update)} ms, delete ${Math.round(pickedUp.delete)} ms (after the answer of the node that took the change; polled every 200 ms; definitions read every 1000 ms)`);
    await waitFor('the shared checkpoints and definition to be removed', async () => (await sharedRows(`SELECT 1 FROM ${SHARED_FUNCTIONS_SCHEMA}.ts_checkpoints WHERE consumer = 'function:count'`)) === 0 && (await sharedRows(`SELECT 1 FROM ${SHARED_FUNCTIONS_SCHEMA}.function_definitions`)) === 0, WAIT);
    const fourth = ['t0', 't1', 't2', 't3'];
    await put(fourth);
    // Deployed anew under the same name through node a: it starts from the stream's start, since nothing was kept.
    expect((await call(a, 'POST', '/v1/functions', { name: 'count', stream: STREAM, code, settings: { startingPosition: 'TRIM_HORIZON', batchSize: 50 } })).status).toBe(201);
    await waitFor('node b to run it again', async () => (await describeOn(b, 'count'))?.state === 'running', WAIT);
    await waitFor('every record counted again by the new deployment', async () => {
      const now = await counts(b);
      return [...first, ...second, ...third].every((id) => now.get(id) === 2) && fourth.every((id) => now.get(id) === 1);
    }, WAIT);
    // Nothing ran the deleted function between its delete and the new deployment: the records put meanwhile were counted once.
    const final = await counts(b);
    expect(fourth.map((id) => final.get(id))).toEqual([1, 1, 1, 1]);
    expect([...final.values()].filter((c) => c > 2)).toEqual([]);
  });
});
