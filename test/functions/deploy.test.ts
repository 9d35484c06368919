/**
 * Deployed functions through the real `tollstream` command: the worked example of docs/functions.md
 * (test/functions/example, a folder outside src/) is deployed with `tollstream functions deploy`, its table
 * effects stay exactly once across a kill -9 of the server, and its definition comes back after the restart;
 * a handler that loops forever and one that allocates without bound are stopped while the server keeps serving.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, startUp, tempDir, type UpProcess } from '../cli/helpers.ts';
import { waitUntil } from '../support/wait.ts';

const EXAMPLE_DIR = path.join(REPO_ROOT, 'test/functions/example');
/** Only what deployed functions need: faster starts on a machine shared by many tests. */
const ENV = { TOLLSTREAM_WAREHOUSE_ENABLED: 'false', TOLLSTREAM_QUERIES_ENABLED: 'false', TOLLSTREAM_STATION_ALERTS_ENABLED: 'false', TOLLSTREAM_ALERTS_ENABLED: 'false' };
const PLAZAS = Array.from({ length: 8 }, (_, i) => `P${String(i + 1).padStart(2, '0')}`);
const SENTINEL_CENTS = 1_000_000;

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function up(dataDir: string, options: { env?: Record<string, string>; cwd?: string } = {}): Promise<UpProcess> {
  const server = await startUp(['--data-dir', dataDir], { env: { ...ENV, ...options.env }, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
  cleanups.push(() => server.stop('SIGKILL'));
  return server;
}

async function cli(server: UpProcess, args: string[], cwd?: string) {
  const result = await runCli([...args, '--endpoint', server.url], cwd === undefined ? {} : { cwd });
  if (result.code !== 0) throw new Error(`tollstream ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
  return result;
}

async function put(server: UpProcess, stream: string, lines: readonly unknown[]): Promise<void> {
  const res = await fetch(`${server.url}/v1/streams/${stream}/records?partitionKeyField=plaza_id`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  const body = (await res.json()) as { failedRecordCount: number };
  expect(res.status).toBe(200);
  expect(body.failedRecordCount).toBe(0);
}

interface Totals {
  readonly tolls: number;
  readonly amount_cents: number;
}

/** plaza -> totals, read back through the tables API (the CLI's `tables scan` reads the same route). */
async function totals(server: UpProcess): Promise<Map<string, Totals>> {
  const res = await fetch(`${server.url}/v1/tables/plaza_totals/scan?limit=1000`);
  if (res.status === 404) return new Map();
  const { items } = (await res.json()) as { items: { pk: string; value: Totals }[] };
  return new Map(items.map((i) => [i.pk, i.value]));
}

/** Scans through the command, as a user would: one JSON line per item. */
async function totalsByCli(server: UpProcess): Promise<Map<string, Totals>> {
  const { stdout } = await cli(server, ['tables', 'scan', 'plaza_totals', '--limit', '1000']);
  return new Map(
    stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { pk: string; value: Totals })
      .map((i) => [i.pk, i.value]),
  );
}

async function describeFunction(server: UpProcess, name: string): Promise<any> {
  return (await fetch(`${server.url}/v1/functions/${name}`)).json();
}

/** Each step runs the real command in a child process: seconds each on a busy machine. */
const SLOW = 240_000;

describe('deployed functions', () => {
  it('deploys the example from its own folder, and its table effects are exactly once across a kill -9 and a restart', async () => {
    const dataDir = tempDir('functions');
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let server = await up(dataDir);
    await cli(server, ['streams', 'create', 'tolls', '--shards', '2']);
    // From the user's folder, with a relative path, as docs/functions.md shows.
    const deployed = await cli(server, ['functions', 'deploy', 'plaza-totals', '--stream', 'tolls', '--handler', './plaza-totals.ts', '--starting-position', 'TRIM_HORIZON', '--batch-size', '1'], EXAMPLE_DIR);
    expect(deployed.stdout).toMatch(/^deployed function plaza-totals \(version 1\)$/m);

    const expected = new Map<string, Totals>(PLAZAS.map((p) => [p, { tolls: 0, amount_cents: 0 }]));
    const records = Array.from({ length: 3000 }, (_, i) => ({ plaza_id: PLAZAS[i % PLAZAS.length]!, amount_cents: 100 + (i % 97) }));
    for (const r of records) {
      const t = expected.get(r.plaza_id)!;
      expected.set(r.plaza_id, { tolls: t.tolls + 1, amount_cents: t.amount_cents + r.amount_cents });
    }
    for (let i = 0; i < records.length; i += 500) await put(server, 'tolls', records.slice(i, i + 500));

    // Killed while the function is part way through the records.
    const before = await waitUntil('the first effects', () => totals(server), (t) => [...t.values()].some((v) => v.tolls > 0), { timeoutMs: 60_000 });
    await server.stop('SIGKILL');
    const countedBefore = [...before.values()].reduce((n, v) => n + v.tolls, 0);
    expect(countedBefore).toBeLessThan(records.length);

    server = await up(dataDir);
    const listed = JSON.parse((await cli(server, ['functions', 'list', '--json'])).stdout) as { name: string; state: string; version: number }[];
    expect(listed.map((f) => [f.name, f.state, f.version])).toEqual([['plaza-totals', 'running', 1]]);
    // One more record per plaza, sent after everything else on its partition key: once it is counted, every
    // earlier record of that plaza has been (order per partition key), so the totals are final.
    await put(server, 'tolls', PLAZAS.map((plaza_id) => ({ plaza_id, amount_cents: SENTINEL_CENTS })));
    const after = await waitUntil('every plaza to be counted', () => totals(server), (t) => PLAZAS.every((p) => (t.get(p)?.amount_cents ?? 0) >= SENTINEL_CENTS), { timeoutMs: 60_000 });
    for (const p of PLAZAS) {
      const e = expected.get(p)!;
      expect([p, after.get(p)]).toEqual([p, { tolls: e.tolls + 1, amount_cents: e.amount_cents + SENTINEL_CENTS }]);
    }
    expect(await totalsByCli(server)).toEqual(after);
    const item = JSON.parse((await cli(server, ['tables', 'get', 'plaza_totals', 'P01'])).stdout) as { value: Totals };
    expect(item.value).toEqual(after.get('P01'));
    const described = JSON.parse((await cli(server, ['functions', 'describe', 'plaza-totals', '--json'])).stdout) as { stats: { recordsProcessed: number } };
    expect(described.stats.recordsProcessed).toBeGreaterThan(0);
    const logs = await cli(server, ['functions', 'logs', 'plaza-totals', '--limit', '5']);
    expect(logs.stdout).toMatch(/INFO {2}handler counted tolls \{"tolls":1\}/);
  }, SLOW);

  it('stops a handler that loops forever, one that allocates without bound and one that keeps Buffers past its memory, and the server keeps serving', async () => {
    const dataDir = tempDir('functions-limits');
    const userDir = tempDir('functions-user');
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    cleanups.push(() => fs.rmSync(userDir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(userDir, 'loop.ts'), 'export function handler(): void {\n  for (;;) {}\n}\n');
    fs.writeFileSync(path.join(userDir, 'hog.js'), 'export function handler() {\n  const kept = [];\n  for (;;) kept.push(new Array(100_000).fill(Math.random()));\n}\n');
    // 300 MiB of Buffers, outside the heap that V8's own limit watches.
    fs.writeFileSync(path.join(userDir, 'buffers.js'), 'export async function handler() {\n  const kept = [];\n  for (let i = 0; i < 300; i++) {\n    kept.push(Buffer.alloc(1 << 20, 1));\n    await new Promise((r) => setImmediate(r));\n  }\n}\n');
    const server = await up(dataDir);
    await cli(server, ['streams', 'create', 'tolls', '--shards', '1']);
    await cli(server, ['streams', 'create', 'other', '--shards', '1']);
    const limits = ['--stream', 'tolls', '--starting-position', 'TRIM_HORIZON', '--maximum-retry-attempts', '1', '--retry-base-delay-ms', '10'];
    await cli(server, ['functions', 'deploy', 'loop', '--handler', './loop.ts', '--timeout-seconds', '1', ...limits], userDir);
    await cli(server, ['functions', 'deploy', 'hog', '--handler', './hog.js', '--memory-mib', '32', ...limits], userDir);
    await cli(server, ['functions', 'deploy', 'buffers', '--handler', './buffers.js', '--memory-mib', '32', ...limits], userDir);
    await cli(server, ['functions', 'deploy', 'plaza-totals', '--stream', 'other', '--handler', path.join(EXAMPLE_DIR, 'plaza-totals.ts'), '--starting-position', 'TRIM_HORIZON']);

    await put(server, 'tolls', [{ plaza_id: 'P01', amount_cents: 1 }]);
    // Both are tried twice (maximum-retry-attempts 1), then the batch is given up and each function goes on.
    const loop = await waitUntil('the looping batch to be given up', () => describeFunction(server, 'loop'), (f) => f.stats?.recordsSentToOnFailure === 1, { timeoutMs: 60_000 });
    const hog = await waitUntil('the allocating batch to be given up', () => describeFunction(server, 'hog'), (f) => f.stats?.recordsSentToOnFailure === 1, { timeoutMs: 60_000 });
    expect(loop).toMatchObject({ state: 'running', stats: { errors: 2 }, lastFailure: { code: 'FUNCTION_TIMEOUT' } });
    expect(hog).toMatchObject({ state: 'running', stats: { errors: 2 }, lastFailure: { code: 'FUNCTION_CRASHED', message: expect.stringContaining('out of memory') } });
    const buffers = await waitUntil('the batch keeping Buffers to be given up', () => describeFunction(server, 'buffers'), (f) => f.stats?.recordsSentToOnFailure === 1, { timeoutMs: 60_000 });
    expect(buffers).toMatchObject({ state: 'running', stats: { errors: 2 }, lastFailure: { code: 'FUNCTION_CRASHED', message: expect.stringMatching(/out of memory \(memoryMiB 32, .* MiB of Buffers and ArrayBuffers\)/) } });
    expect((await cli(server, ['functions', 'logs', 'buffers'])).stdout).toMatch(/WARN {2}runtime function invocation failed .*FUNCTION_CRASHED/);
    expect((await cli(server, ['functions', 'logs', 'loop'])).stdout).toMatch(/WARN {2}runtime function invocation failed .*FUNCTION_TIMEOUT/);

    // Meanwhile the server answers, and another function runs to completion.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    await put(server, 'other', [{ plaza_id: 'P07', amount_cents: 5 }, { plaza_id: 'P07', amount_cents: 6 }]);
    const t = await waitUntil('the other function to count', () => totals(server), (m) => m.get('P07')?.tolls === 2, { timeoutMs: 60_000 });
    expect(t.get('P07')).toEqual({ tolls: 2, amount_cents: 11 });
    expect(server.child.exitCode).toBeNull();
  }, SLOW);

  it('runs the functions the config file declares, and deletes one whose entry is removed', async () => {
    const dataDir = tempDir('functions-config');
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const declared = [{ name: 'plaza-totals', stream: 'tolls', handler: './plaza-totals.ts', startingPosition: 'TRIM_HORIZON', batchSize: 50 }];
    const env = { TOLLSTREAM_STREAMS: JSON.stringify([{ name: 'tolls', shardCount: 1 }]), TOLLSTREAM_FUNCTIONS_DEPLOY: JSON.stringify(declared) };
    // Started from the handler's folder: the config's handler path is relative to it.
    let server = await up(dataDir, { env, cwd: EXAMPLE_DIR });
    expect(await describeFunction(server, 'plaza-totals')).toMatchObject({ state: 'running', version: 1, source: 'config', settings: { batchSize: 50 } });
    await put(server, 'tolls', [{ plaza_id: 'P03', amount_cents: 40 }, { plaza_id: 'P03', amount_cents: 2 }]);
    const t = await waitUntil('the declared function to count', () => totals(server), (m) => m.get('P03')?.tolls === 2, { timeoutMs: 60_000 });
    expect(t.get('P03')).toEqual({ tolls: 2, amount_cents: 42 });
    // Counted in /metrics like any function, with the spending alerts off. Polled: the counter moves when the
    // invocation reports done, a moment after its commit made the totals visible.
    const counted = /^tollstream_function_records_total\{mapping="plaza-totals"\} 2$/m;
    const metrics = await waitUntil('the records counted in /metrics', async () => (await fetch(`${server.url}/metrics`)).text(), (text) => counted.test(text), { timeoutMs: 30_000 });
    expect(metrics).toMatch(counted);
    await server.stop('SIGTERM');

    server = await up(dataDir, { env: { ...env, TOLLSTREAM_FUNCTIONS_DEPLOY: '[]' }, cwd: EXAMPLE_DIR });
    expect(((await (await fetch(`${server.url}/v1/functions`)).json()) as { functions: unknown[] }).functions).toEqual([]);
  }, SLOW);
});
