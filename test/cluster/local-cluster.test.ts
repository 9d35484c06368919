/**
 * `npm run cluster:local` as a user runs it: the script starts 3 nats-servers and 3 nodes, every node answers
 * /health, records put through the Kinesis API on node-2 are read through node-3, and SIGTERM leaves no process
 * of it behind and drops its database.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresUrl } from '../postgres/server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every live descendant of `root` (Linux /proc). */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parentOf) if (parent === pid) (found.push(child), walk(child));
  };
  walk(root);
  return found;
}

function alive(pid: number): boolean {
  try {
    // A zombie has exited; only its parent's wait is missing.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const client = (endpoint: string) => new KinesisClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' }, maxAttempts: 3 });

describe('npm run cluster:local', () => {
  it('starts three nodes that share the log, and stops every process it started', async () => {
    const serverUrl = postgresUrl();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), path.join(ROOT, 'bin/cluster-local.ts')], {
      cwd: ROOT,
      env: { ...process.env, TOLLSTREAM_CLUSTER_POSTGRES_URL: serverUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines: string[] = [];
    const nodes = new Map<string, string>();
    let database = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no cluster within 240 s:\n${lines.join('\n')}\n${stderr}`)), 240_000);
        void exited.then((code) => (clearTimeout(timer), reject(new Error(`cluster:local exited (${code}):\n${stderr}`))));
        readline.createInterface({ input: child.stdout! }).on('line', (line) => {
          lines.push(line);
          const node = /^\s+(node-\d)\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(line);
          if (node) nodes.set(node[1]!, node[2]!);
          const db = /PostgreSQL\s+\S+\/(tollstream_cluster_[0-9a-f]+)/.exec(line);
          if (db) database = db[1]!;
          if (line.startsWith('Ctrl-C')) (clearTimeout(timer), resolve());
        });
      });
      expect([...nodes.keys()]).toEqual(['node-1', 'node-2', 'node-3']);
      for (const url of nodes.values()) {
        const res = await fetch(`${url}/health`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }

      const records = Array.from({ length: 50 }, (_, i) => ({ PartitionKey: `customer-${i}`, Data: Buffer.from(JSON.stringify({ n: i, marker: `local-cluster-${i}` })) }));
      const put = await client(nodes.get('node-2')!).send(new PutRecordsCommand({ StreamName: 'toll_transactions', Records: records }));
      expect(put.FailedRecordCount).toBe(0);

      const reader = client(nodes.get('node-3')!);
      const shards = (await reader.send(new ListShardsCommand({ StreamName: 'toll_transactions' }))).Shards ?? [];
      expect(shards.length).toBe(6);
      const read: string[] = [];
      for (const shard of shards) {
        const it = await reader.send(new GetShardIteratorCommand({ StreamName: 'toll_transactions', ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
        let iterator = it.ShardIterator;
        for (let round = 0; iterator && round < 20; round++) {
          const got = await reader.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
          for (const r of got.Records ?? []) read.push((JSON.parse(Buffer.from(r.Data!).toString()) as { marker: string }).marker);
          if ((got.Records ?? []).length === 0 || got.MillisBehindLatest === 0) break;
          iterator = got.NextShardIterator;
        }
      }
      expect(read.sort()).toEqual(records.map((_, i) => `local-cluster-${i}`).sort());
    } finally {
      const started = descendants(child.pid!);
      child.kill('SIGTERM');
      const code = await exited;
      // Everything the script started is gone once it exits: the three nodes and the three nats-servers.
      expect(started.length).toBeGreaterThanOrEqual(6);
      expect(started.filter(alive)).toEqual([]);
      expect(code).toBe(0);
    }
    expect(database).not.toBe('');
    const pgc = new pg.Client({ connectionString: serverUrl });
    await pgc.connect();
    try {
      expect((await pgc.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount).toBe(0);
    } finally {
      await pgc.end();
    }
  }, 400_000);
});
