/**
 * The Parquet lake shared by three node processes through leases, on the JetStream log (3 nats-servers), its files
 * in one folder every node writes and its commits in PostgreSQL: tolls keep arriving while the node owning a
 * shard's lake delivery is killed with kill -9 in the middle of a batch (its files named, some written, none
 * committed). Its shards are taken over from the positions in PostgreSQL, and every Parquet file on disk, read
 * with DuckDB, holds every acknowledged toll exactly once: no file of the killed batch is left beside the one the
 * new owner wrote over the same records. The verifier is shown to catch a lost and a doubled record.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJetStreamLog, type JetStreamStreamLog } from '../../src/log/index.ts';
import { eventually, transactions } from '../delivery/helpers.ts';
import { postgresSchema, type PostgresSchema } from '../postgres/server.ts';
import { startNatsCluster, type NatsCluster } from '../../bin/nats-cluster.ts';
import { produceTolls, startNodeProcess, type NodeChild } from './node-process.ts';
import { judgeDelivered, type DeliveredRow } from './verify.ts';

const NODE = fileURLToPath(new URL('delivery-node.ts', import.meta.url));
const STREAM = 'toll_transactions';
const SHARDS = 6;
const LEASE_MS = 3000;
const RENEW_MS = 1000;

describe('the Parquet lake on three nodes, the owner of a shard killed with kill -9 mid-batch', () => {
  let cluster: NatsCluster;
  let lakePlace: PostgresSchema;
  let leasePlace: PostgresSchema;
  let log: JetStreamStreamLog;
  let dir: string;
  const nodes: NodeChild[] = [];
  const sent = new Set<string>();
  const acknowledged = new Set<string>();

  beforeAll(async () => {
    cluster = await startNatsCluster();
    lakePlace = postgresSchema('lake_commits');
    leasePlace = postgresSchema('lake_leases');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-shared-lake-'));
    const prefix = `lf${crypto.randomBytes(4).toString('hex')}`;
    log = await openJetStreamLog({ servers: cluster.urls, prefix, replicas: 3, requestTimeoutMs: 20_000 });
    await log.createStream(STREAM, { shardCount: SHARDS, dedupe: { mode: 'field', field: 'transaction_id' } });
    const config = (name: string) => ({ natsUrls: cluster.urls, prefix, postgresUrl: lakePlace.url, lake: { dir, schema: lakePlace.schema }, leaseSchema: leasePlace.schema, node: name, leaseMs: LEASE_MS, renewMs: RENEW_MS });
    for (const name of ['node-1', 'node-2', 'node-3']) nodes.push(await startNodeProcess(NODE, name, JSON.stringify(config(name))));
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes) n.child.kill('SIGKILL');
    await log?.close().catch(() => undefined);
    await lakePlace?.cleanup();
    await leasePlace?.cleanup();
    await cluster?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('holds every acknowledged toll once in the files on disk after the takeover', async () => {
    await eventually('the three nodes to share the six leases', () => nodes.every((n) => n.held.length === 2), 60_000);
    const tolls = transactions(40_000, 13);
    const producer = produceTolls(log, STREAM, tolls, { sent, acknowledged });
    const committedRows = async () => Number((await lakePlace.admin(`SELECT coalesce(sum((entry->>'rows')::int), 0) AS n FROM "${lakePlace.schema}".lake_files WHERE commit_no IS NOT NULL AND entry->>'kind' = 'data'`)).rows[0].n);
    await eventually('lake files from the traffic', async () => (await committedRows()) > 1000, 60_000);

    // Kill the node while a batch of one of its shards is named but not committed: files half there, none live.
    const victim = nodes[1]!;
    const orphaned = [...victim.held];
    const uncommitted = async () =>
      (await lakePlace.admin(`SELECT path FROM "${lakePlace.schema}".lake_files WHERE commit_no IS NULL AND shard_id = ANY($1)`, [orphaned])).rows.map((r: { path: string }) => r.path);
    let leftBehind: string[] = [];
    // Stopped (SIGSTOP) as soon as a batch of its shards is named, and killed if that batch is still uncommitted
    // then; if it committed meanwhile, let go (SIGCONT) and wait for the next one.
    await eventually(
      'the victim stopped in the middle of a batch',
      async () => {
        if ((await uncommitted()).length === 0) return false;
        victim.child.kill('SIGSTOP');
        if ((leftBehind = await uncommitted()).length > 0) return true;
        victim.child.kill('SIGCONT');
        return false;
      },
      60_000,
    );
    const exited = new Promise((resolve) => victim.child.once('exit', resolve));
    victim.child.kill('SIGKILL');
    await exited;
    leftBehind = await uncommitted();
    const onDiskAtKill = (await Promise.all(leftBehind.map((p) => exists(path.join(dir, STREAM, p))))).filter(Boolean).length;

    const survivors = nodes.filter((n) => n !== victim);
    await eventually('the survivors to hold all six leases', () => survivors.reduce((s, n) => s + n.held.length, 0) === SHARDS, 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    await producer.stop();
    await eventually(`all ${acknowledged.size} acknowledged tolls committed to the lake`, async () => (await committedRows()) >= acknowledged.size, 120_000);
    await eventually('the killed batch\'s files deleted', async () => (await uncommitted()).every((p) => !leftBehind.includes(p)), 30_000);
    // Let anything still in flight land, then judge.
    await new Promise((r) => setTimeout(r, 1500));

    const rows = await readLake(dir);
    const verdict = judgeDelivered(rows, { acknowledged, sent });
    const leftover = (await listFiles(path.join(dir, STREAM))).filter((f) => leftBehind.some((p) => f.startsWith(p)));
    console.log(
      `lake failover: kill -9 of ${victim.name} (shards ${orphaned.join(', ')}) with ${leftBehind.length} files of a batch uncommitted (${onDiskAtKill} of them on disk); ` +
        `${acknowledged.size} tolls acknowledged, ${rows.length} rows in the Parquet files, ${verdict.lost.length} lost, ${verdict.doubled.length} doubled, ${leftover.length} files of the killed batch left`,
    );
    expect(leftBehind.length).toBeGreaterThan(0);
    expect(leftover).toEqual([]);
    expect(verdict).toMatchObject({ lost: [], doubled: [], unknown: [], reordered: [] });
    expect(verdict.rows).toBeGreaterThanOrEqual(acknowledged.size);
    expect(verdict.rows).toBeLessThanOrEqual(sent.size);
    expect(survivors.flatMap((n) => n.held).sort()).toEqual(expect.arrayContaining(orphaned));

    // The verifier catches a lost and a doubled record: one file copied under another name, one deleted.
    const files = (await listFiles(path.join(dir, STREAM))).filter((f) => f.endsWith('.parquet'));
    const [copied, deleted] = [files[0]!, files[1]!];
    await fs.copyFile(path.join(dir, STREAM, copied), path.join(dir, STREAM, copied.replace(/\.parquet$/, '-copy.parquet')));
    await fs.rm(path.join(dir, STREAM, deleted));
    const damaged = judgeDelivered(await readLake(dir), { acknowledged, sent });
    expect(damaged.doubled.length).toBeGreaterThan(0);
    expect(damaged.lost.length).toBeGreaterThan(0);
  });
});

/** Every Parquet file under the lake's folder, read with DuckDB (not the committed list: a stray file would count). */
async function readLake(dir: string): Promise<DeliveredRow[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const glob = path.join(dir, STREAM, '**', '*.parquet').replaceAll("'", "''");
    const reader = await conn.runAndReadAll(`SELECT transaction_id, shard_id, CAST(sequence_number AS VARCHAR) FROM read_parquet('${glob}', hive_partitioning = true)`);
    return reader.getRowsJS().map(([id, shard, seq]) => ({ transactionId: String(id), shardId: String(shard), sequenceNumber: String(seq) }));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}
