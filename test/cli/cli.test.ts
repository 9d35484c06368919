import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLines, runCli, spawnCli, startUp, tempDir, type UpProcess } from './helpers.ts';

const dirs: string[] = [];
function dir(label: string): string {
  const d = tempDir(label);
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A port nobody listens on: one the kernel just handed out and that was closed again. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('tollstream without a server', () => {
  it('lists every command in --help', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const c of ['up', 'streams create', 'streams list', 'streams describe', 'streams delete', 'put', 'tail', 'keys hash']) {
      expect(res.stdout).toContain(`  ${c}`);
    }
  });

  it("shows a command's flags with --help and -h", async () => {
    const res = await runCli(['streams', 'create', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('usage: tollstream streams create NAME');
    expect(res.stdout).toContain('--shards N');
    expect((await runCli(['put', '-h'])).stdout).toContain('--partition-key-field F');
  });

  it('rejects an unknown flag with exit code 2 and a hint', async () => {
    const res = await runCli(['streams', 'list', '--shardz', '3']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("error: unknown option '--shardz'");
    expect(res.stderr).toContain("tollstream streams list --help");
  });

  it('rejects an unknown command with exit code 2', async () => {
    const res = await runCli(['strems', 'list']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("unknown command 'strems'");
    expect(res.stderr).toContain("did you mean 'tollstream streams'");
  });

  it('prints the hashed form of an API key', async () => {
    const res = await runCli(['keys', 'hash', 'abc']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n');
  });

  it('stops `up` on a bad flag value, naming the config key, without a stack trace', async () => {
    const res = await runCli(['up', '--data-dir', dir('badport'), '--port', '70000']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: port must be an integer from 0 to 65535.*\(CONFIG_INVALID\)\n$/);
  });

  it('stops `up` on an unknown key in the config file, naming it', async () => {
    const root = dir('badconfig');
    const file = path.join(root, 'tollstream.config.json');
    fs.writeFileSync(file, JSON.stringify({ storage: { fsynk: 'always' } }));
    const res = await runCli(['up', '--config', file, '--data-dir', path.join(root, 'data')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("unknown config key 'storage.fsynk'");
    expect(res.stderr).toContain('CONFIG_INVALID');
  });

  it('says how to fix an unreachable server', async () => {
    const port = await closedPort();
    const res = await runCli(['streams', 'list', '--endpoint', `http://127.0.0.1:${port}`]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`cannot reach tollstream at http://127.0.0.1:${port} (ECONNREFUSED)`);

    // The simulator says the same, before it generates any traffic, through the AWS SDK path too.
    for (const to of ['kinesis', 'native']) {
      const sim = await runCli(['simulate', '--to', to, '--endpoint', `http://127.0.0.1:${port}`, '--duration', '1']);
      expect(sim.code).toBe(1);
      expect(sim.stderr).toContain(`cannot reach tollstream at http://127.0.0.1:${port} (ECONNREFUSED)`);
      expect(sim.stderr).not.toContain('sent ');
    }
  });
});

describe('tollstream against a running server', () => {
  let root: string;
  let dataDir: string;
  let server: UpProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    root = dir('server');
    dataDir = path.join(root, 'data');
    server = await startUp(['--data-dir', dataDir], { cwd: root });
    env = { TOLLSTREAM_ENDPOINT: server.url };
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
  });

  it('prints the ready URL and creates the declared default stream', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await runCli(['streams', 'list'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^NAME\s+STATUS\s+SHARDS\s+CREATED\n/);
    expect(res.stdout).toMatch(/toll_transactions\s+ACTIVE\s+2\s/);
  });

  it('creates, describes, lists and deletes a stream', async () => {
    const created = await runCli(['streams', 'create', 'plaza_events', '--shards', '3', '--retention-hours', '48', '--dedupe-field', 'event_id'], { env });
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('created stream plaza_events');

    const described = await runCli(['streams', 'describe', 'plaza_events', '--json'], { env });
    expect(described.code).toBe(0);
    const description = JSON.parse(described.stdout) as { openShardCount: number; retentionHours: number; dedupe: { field: string } };
    expect(description.openShardCount).toBe(3);
    expect(description.retentionHours).toBe(48);
    expect(description.dedupe.field).toBe('event_id');

    const table = await runCli(['streams', 'describe', 'plaza_events'], { env });
    expect(table.stdout).toContain('retention:');
    expect(table.stdout).toMatch(/^SHARD\s+STATE\s+PARENTS\s+HASH KEY RANGE$/m);
    expect(table.stdout.split('\n').filter((l) => /^shardId-\S+\s+open\s/.test(l))).toHaveLength(3);

    const listed = await runCli(['streams', 'list', '--json'], { env });
    expect((JSON.parse(listed.stdout) as Array<{ name: string }>).map((s) => s.name)).toContain('plaza_events');

    const deleted = await runCli(['streams', 'delete', 'plaza_events'], { env });
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe('deleted stream plaza_events\n');

    const gone = await runCli(['streams', 'describe', 'plaza_events'], { env });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('(STREAM_NOT_FOUND)');
  });

  it('puts NDJSON from a file and the records can be tailed back', async () => {
    await runCli(['streams', 'create', 'lane_reads', '--shards', '2'], { env });
    const file = path.join(root, 'reads.ndjson');
    const records = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ read_id: i, plaza: `P${i % 7}`, amount_cents: 100 + i }));
    fs.writeFileSync(file, records.join('\n') + '\n\n');

    const res = await runCli(['put', 'lane_reads', file, '--partition-key-field', 'plaza', '--batch', '250'], { env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('sent 1200 records, 0 failed\n');

    const tail = spawnCli(['tail', 'lane_reads', '--from', 'TRIM_HORIZON'], env);
    const lines = await readLines(tail, 1200);
    const exited = new Promise<number | null>((resolve) => tail.once('exit', (code) => resolve(code)));
    tail.kill('SIGINT');
    expect(await exited).toBe(0);
    const seen = lines.map((l) => JSON.parse(l) as { partitionKey: string; data: { read_id: number } });
    expect(new Set(seen.map((r) => r.data.read_id)).size).toBe(1200);
    expect(seen.find((r) => r.data.read_id === 8)?.partitionKey).toBe('P1');

    // Filtered: one partition key and a field's value, from the oldest record.
    const filtered = spawnCli(['tail', 'lane_reads', '--from', 'TRIM_HORIZON', '--key', 'P3', '--where', 'amount_cents=103'], env);
    const [only] = await readLines(filtered, 1);
    const filteredExit = new Promise<number | null>((resolve) => filtered.once('exit', (code) => resolve(code)));
    filtered.kill('SIGINT');
    expect(await filteredExit).toBe(0);
    expect(JSON.parse(only!)).toMatchObject({ partitionKey: 'P3', data: { read_id: 3, amount_cents: 103 } });

    const usage = await runCli(['tail', 'lane_reads', '--from', 'AT_SEQUENCE_NUMBER'], { env });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--from AT_SEQUENCE_NUMBER needs --sequence-number and --shard');
  });

  it('reads stdin, and names the line of bad JSON', async () => {
    expect((await runCli(['streams', 'create', 'stdin_reads'], { env })).code).toBe(0);
    const ok = await runCli(['put', 'stdin_reads'], { env, input: '{"a":1}\n{"a":2}\n' });
    expect(ok.stdout).toBe('sent 2 records, 0 failed\n');

    const bad = await runCli(['put', 'stdin_reads'], { env, input: '{"a":1}\n\n{"a":\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('line 3 is not valid JSON');
  });

  it('counts records the server rejects and exits non-zero', async () => {
    expect((await runCli(['streams', 'create', 'keyed_reads'], { env })).code).toBe(0);
    const res = await runCli(['put', 'keyed_reads', '--partition-key-field', 'plaza'], { env, input: '{"plaza":"P1"}\n{"other":1}\n' });
    expect(res.stdout).toBe('sent 1 record, 1 failed\n');
    expect(res.stderr).toMatch(/^line 2: /m);
    expect(res.code).toBe(1);
  });

  it('refuses a second server on the same data directory', async () => {
    const res = await runCli(['up', '--data-dir', dataDir, '--port', '0'], { cwd: root });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('is in use by another tollstream process');
    expect(res.stderr).toContain('(DATA_DIR_LOCKED)');
  });
});

describe('tollstream up lifecycle', () => {
  it('stops cleanly on SIGTERM and keeps its streams across a restart', async () => {
    const root = dir('lifecycle');
    const dataDir = path.join(root, 'data');
    const first = await startUp(['--data-dir', dataDir], { cwd: root });
    expect((await runCli(['streams', 'create', 'kept', '--shards', '1'], { env: { TOLLSTREAM_ENDPOINT: first.url } })).code).toBe(0);
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(dataDir, 'tollstream.lock'))).toBe(false);
    expect(fs.statSync(path.join(dataDir, 'secret')).mode & 0o777).toBe(0o600);

    const second = await startUp(['--data-dir', dataDir], { cwd: root });
    const listed = await runCli(['streams', 'list'], { env: { TOLLSTREAM_ENDPOINT: second.url } });
    expect(listed.stdout).toMatch(/^kept\s+ACTIVE\s+1\s/m);
    expect(await second.stop('SIGINT')).toEqual({ code: 0, signal: null });
  });

  it('takes over the lock of a server killed with SIGKILL', async () => {
    const root = dir('killed');
    const dataDir = path.join(root, 'data');
    const first = await startUp(['--data-dir', dataDir], { cwd: root });
    expect((await first.stop('SIGKILL')).signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(dataDir, 'tollstream.lock'))).toBe(true);

    const second = await startUp(['--data-dir', dataDir], { cwd: root });
    expect(second.stderr()).toContain('taking over a stale data directory lock');
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('requires the API key when auth.apiKeys is set', async () => {
    const root = dir('apikey');
    const hash = (await runCli(['keys', 'hash', 'plaza-secret'])).stdout.trim();
    const server = await startUp(['--data-dir', path.join(root, 'data')], { cwd: root, env: { TOLLSTREAM_AUTH_API_KEYS: JSON.stringify([hash]) } });
    try {
      const env = { TOLLSTREAM_ENDPOINT: server.url };
      const denied = await runCli(['streams', 'list'], { env });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('(UNAUTHORIZED)');
      const allowed = await runCli(['streams', 'list', '--api-key', 'plaza-secret'], { env });
      expect(allowed.code).toBe(0);
      const fromEnv = await runCli(['streams', 'list'], { env: { ...env, TOLLSTREAM_API_KEY: 'plaza-secret' } });
      expect(fromEnv.code).toBe(0);
    } finally {
      await server.stop('SIGTERM');
    }
  });
});
