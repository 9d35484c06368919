/**
 * `npm run cluster:local`: a 3-node Tollstream cluster on this machine, as docs/cluster.md describes it.
 * Three `nats-server` with JetStream clustered on 127.0.0.1 (temp store dirs), a fresh PostgreSQL database for
 * the warehouse and the lease table (on TOLLSTREAM_CLUSTER_POSTGRES_URL's server, else the one `.ci/postgres.sh`
 * starts or reuses), and three `tollstream up` nodes, each running the gateway, the alerts and the station alerts,
 * and its share (under leases) of the warehouse delivery, of the continuous queries and of the alerts' function
 * mappings. Prints the URLs; Ctrl-C or SIGTERM stops the nodes, the NATS servers, drops the database and removes
 * the temp dirs.
 *
 * Flags: --keep-database (leave the database for a look afterwards).
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { findFreePort, startTollstream, REPO_ROOT, type ServerProcess } from './processes.ts';
import { NATS_SERVER, startNatsCluster, type NatsCluster } from './nats-cluster.ts';

export const NODE_NAMES = ['node-1', 'node-2', 'node-3'] as const;

export interface LocalClusterNode {
  readonly name: string;
  readonly url: string;
  readonly dataDir: string;
  readonly process: ServerProcess;
}

export interface LocalCluster {
  readonly nats: NatsCluster;
  readonly nodes: LocalClusterNode[];
  /**
   * The cluster's own database (warehouse tables in `public`, leases in `tollstream_leases`, the alerts' tables in
   * `tollstream_functions`, the station alerts' in `tollstream_station_alerts`, queries in `tollstream_queries`).
   */
  readonly postgresUrl: string;
  /** Every pid it started: the nodes and the NATS servers. */
  pids(): number[];
  /** Starts node `i` again over its data dir and config (after a kill). */
  restartNode(i: number): Promise<void>;
  close(): Promise<void>;
}

export interface LocalClusterOptions {
  /** @default 3 */
  readonly nodes?: number;
  /** Lease timings of every node; the defaults of docs/configuration.md when absent. */
  readonly leaseMs?: number;
  readonly leaseRenewMs?: number;
  /** Shards of `toll_transactions`. @default 6 (two per node) */
  readonly shards?: number;
  readonly keepDatabase?: boolean;
  /** The PostgreSQL server where the cluster's database is created. @default TOLLSTREAM_CLUSTER_POSTGRES_URL, else the server of `.ci/postgres.sh` */
  readonly postgresServerUrl?: string;
  /** @default 'warn' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Settings every node's config file gets besides the cluster's own (e.g. `stationAlerts`). @default none */
  readonly extraConfig?: Record<string, unknown>;
}

/** One line saying what is missing; the caller prints it and exits 1. */
export class ClusterPrerequisiteError extends Error {}

const POSTGRES_SCRIPT = path.join(REPO_ROOT, '.ci/postgres.sh');

function serverPostgresUrl(): string {
  const fromEnv = process.env.TOLLSTREAM_CLUSTER_POSTGRES_URL;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync(POSTGRES_SCRIPT, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).trim();
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? '').trim().split('\n').pop() ?? '';
    throw new ClusterPrerequisiteError(`no PostgreSQL: set TOLLSTREAM_CLUSTER_POSTGRES_URL, or install Debian's postgresql so .ci/postgres.sh can start one (${stderr || (err as Error).message})`);
  }
}

function natsServerFound(): boolean {
  if (path.isAbsolute(NATS_SERVER)) return existsSync(NATS_SERVER);
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => existsSync(path.join(dir, NATS_SERVER)));
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  if (!natsServerFound()) throw new ClusterPrerequisiteError(`no nats-server: install Debian's nats-server (apt-get install nats-server) or set TOLLSTREAM_NATS_SERVER to its path`);
  const serverUrl = options.postgresServerUrl ?? serverPostgresUrl();
  const database = `tollstream_cluster_${crypto.randomBytes(4).toString('hex')}`;
  try {
    await admin(serverUrl, `CREATE DATABASE ${database}`);
  } catch (err) {
    throw new ClusterPrerequisiteError(`PostgreSQL at ${new URL(serverUrl).host} cannot create the cluster's database: ${(err as Error).message}`);
  }
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${database}`;
  const postgresUrl = dbUrl.toString();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tollstream-cluster-'));
  let nats: NatsCluster | undefined;
  const nodes: LocalClusterNode[] = [];
  const configs: { name: string; dataDir: string; configFile: string; port: number }[] = [];

  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.process.stop(15_000)));
    await nats?.close();
    if (!options.keepDatabase) {
      await admin(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((err: unknown) => {
        process.stderr.write(`could not drop database ${database}: ${(err as Error).message}\n`);
      });
    }
    await rm(dir, { recursive: true, force: true });
  };

  const launch = async (i: number): Promise<void> => {
    const c = configs[i]!;
    const child = await startTollstream({ dataDir: c.dataDir, port: c.port, logLevel: options.logLevel ?? 'warn', extraArgs: ['--config', c.configFile], timeoutMs: 120_000 });
    nodes[i] = { name: c.name, url: child.url, dataDir: c.dataDir, process: child };
  };

  try {
    nats = await startNatsCluster({ size: 3 });
    const count = options.nodes ?? 3;
    for (let i = 0; i < count; i++) {
      const name = NODE_NAMES[i] ?? `node-${i + 1}`;
      const dataDir = path.join(dir, name);
      const port = await findFreePort();
      const config = {
        ...options.extraConfig,
        streams: [{ name: 'toll_transactions', shardCount: options.shards ?? 6, dedupe: { mode: 'field', field: 'transaction_id' } }],
        warehouse: { kind: 'postgres', postgresUrl },
        cluster: {
          natsServers: nats.urls,
          postgresUrl,
          nodeName: name,
          replicas: 3,
          ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
          ...(options.leaseRenewMs !== undefined ? { leaseRenewMs: options.leaseRenewMs } : {}),
        },
        // Every node runs the alerts and the station alerts: their tables, checkpoints and continuous queries are in
        // PostgreSQL, and each shard of their function mappings runs on one node at a time (docs/cluster.md).
        metrics: { historyIntervalSeconds: 0 },
      };
      const configFile = path.join(dir, `${name}.config.json`);
      await writeFile(configFile, JSON.stringify(config, null, 2));
      configs.push({ name, dataDir, configFile, port });
    }
    // node-1 first: it creates the streams, the warehouse tables and the lease schema; the others then join.
    await launch(0);
    await Promise.all(configs.slice(1).map((_, j) => launch(j + 1)));
  } catch (err) {
    await close();
    throw err;
  }

  return {
    nats: nats,
    nodes,
    postgresUrl,
    pids: () => [...nodes.map((n) => n.process.pid), ...nats!.servers.flatMap((s) => (s.process?.pid !== undefined ? [s.process.pid] : []))],
    restartNode: launch,
    close,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'keep-database': { type: 'boolean', default: false } } });
  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({ keepDatabase: values['keep-database'] });
  } catch (err) {
    process.stderr.write(`cluster:local: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const out = [
    'Tollstream cluster on 127.0.0.1:',
    ...cluster.nodes.map((n) => `  ${n.name}  ${n.url}  gateway, deliveries, queries, alerts, station alerts  (data ${n.dataDir})`),
    `  NATS JetStream  ${cluster.nats.urls.join(' ')}`,
    `  PostgreSQL      ${cluster.postgresUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}`,
    'Ctrl-C stops everything.',
  ];
  process.stdout.write(out.join('\n') + '\n');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping the cluster...\n');
    void cluster.close().then(
      () => {
        process.stdout.write('stopped\n');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`cluster:local: stopping failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A node that dies on its own is reported; the rest keep running until Ctrl-C.
  for (const n of cluster.nodes) {
    void n.process.exited.then(({ code, signal }) => {
      if (!stopping) process.stderr.write(`${n.name} exited (code ${code}, signal ${signal})\n${n.process.stderrTail()}\n`);
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
